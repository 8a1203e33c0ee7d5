//! The `exp` claim of a JWT: the expiry of a token that states none of its own elsewhere.

use base64::Engine as _;
use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use jiff::Timestamp;
use serde_json::Value;

/// Base64url that takes segments with or without `=` padding, as JWT producers disagree.
const BASE64URL: GeneralPurpose = GeneralPurpose::new(
    &alphabet::URL_SAFE,
    GeneralPurposeConfig::new()
        .with_encode_padding(false)
        .with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// The `exp` claim of a JWT, or `None` when `token` is not a JWT or states no usable `exp`.
///
/// A JWT is exactly three `.`-separated base64url segments (padded or not) whose header is a JSON
/// object with an `alg` member and whose payload is a JSON object. A five-segment JWE is opaque.
/// A fractional `exp` is floored. The signature is not checked.
#[must_use]
pub fn jwt_exp(token: &str) -> Option<Timestamp> {
    let mut segments = token.split('.');
    let (header, payload, signature) = (segments.next()?, segments.next()?, segments.next()?);
    if segments.next().is_some() {
        return None;
    }
    // The signature is empty for `alg: none`, but must still be base64url when present.
    BASE64URL.decode(signature).ok()?;
    let header: Value = serde_json::from_slice(&BASE64URL.decode(header).ok()?).ok()?;
    header.as_object()?.get("alg")?;
    let payload: Value = serde_json::from_slice(&BASE64URL.decode(payload).ok()?).ok()?;
    let exp = payload.as_object()?.get("exp")?.as_number()?;
    let second = match exp.as_i64() {
        Some(s) => s,
        // `as` saturates; an out-of-range second is then refused by `from_second`.
        #[allow(clippy::cast_possible_truncation)]
        None => exp.as_f64()?.floor() as i64,
    };
    Timestamp::from_second(second).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2026-08-21T13:46:32Z.
    const EXP: i64 = 1_787_319_992;

    fn at(second: i64) -> Timestamp {
        Timestamp::from_second(second).unwrap()
    }
    use base64::engine::general_purpose::{URL_SAFE, URL_SAFE_NO_PAD};

    fn jwt(header: &str, payload: &str, pad: bool) -> String {
        let engine = if pad { URL_SAFE } else { URL_SAFE_NO_PAD };
        format!(
            "{}.{}.{}",
            engine.encode(header),
            engine.encode(payload),
            engine.encode(b"signature bytes!")
        )
    }

    const HEADER: &str = r#"{"alg":"HS256","typ":"JWT"}"#;

    #[test]
    fn jwt_exp_with_and_without_padding() {
        // These lengths make both segments need `=` padding, so the two forms differ.
        let payload = format!(r#"{{"sub":"ab","exp":{EXP}}}"#);
        let unpadded = jwt(HEADER, &payload, false);
        let padded = jwt(HEADER, &payload, true);
        assert!(padded.contains('='), "{padded}");
        assert_eq!(jwt_exp(&unpadded), Some(at(EXP)));
        assert_eq!(jwt_exp(&padded), Some(at(EXP)));
    }

    #[test]
    fn jwt_exp_float_is_floored() {
        let token = jwt(HEADER, &format!(r#"{{"exp":{EXP}.9}}"#), false);
        assert_eq!(jwt_exp(&token), Some(at(EXP)));
    }

    #[test]
    fn jwt_with_empty_signature_is_a_jwt() {
        let token = jwt(r#"{"alg":"none"}"#, &format!(r#"{{"exp":{EXP}}}"#), false);
        let (unsigned, _) = token.rsplit_once('.').unwrap();
        assert_eq!(jwt_exp(&format!("{unsigned}.")), Some(at(EXP)));
    }

    #[test]
    fn not_a_jwt_or_no_exp_is_none() {
        let payload = format!(r#"{{"exp":{EXP}}}"#);
        let good = jwt(HEADER, &payload, false);
        assert!(jwt_exp(&good).is_some());
        let cases = [
            // missing exp
            jwt(HEADER, r#"{"sub":"x"}"#, false),
            // exp that is not a number
            jwt(HEADER, r#"{"exp":"1787319992"}"#, false),
            // header without alg
            jwt(r#"{"typ":"JWT"}"#, &payload, false),
            // header or payload not an object
            jwt("[1]", &payload, false),
            jwt(HEADER, "42", false),
            // 5-segment JWE
            format!(
                "{good}.{}.{}",
                URL_SAFE_NO_PAD.encode("iv"),
                URL_SAFE_NO_PAD.encode("tag")
            ),
            // two segments, four segments
            good.rsplit_once('.').unwrap().0.to_owned(),
            format!("{good}.x"),
            // signature that is not base64url
            format!("{}.a+b/", good.rsplit_once('.').unwrap().0),
            // garbage
            "not a jwt".into(),
            "a.b.c".into(),
            "..".into(),
            String::new(),
            "ya29.a0AfH6SMBx".into(),
        ];
        for token in cases {
            assert_eq!(jwt_exp(&token), None, "{token}");
        }
    }
}
