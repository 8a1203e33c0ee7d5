//! The examples and properties of [`super`]: the real shapes of the mints' expiry fields, and
//! every refusal with its message.

use super::*;
use proptest::prelude::*;
use serde_json::json;

/// 2026-08-21T13:46:32Z, the instant most fixtures below describe.
const EXP: i64 = 1_787_319_992;

fn now() -> Timestamp {
    Timestamp::from_second(1_787_316_392).unwrap() // EXP - 1h
}

fn ts(s: &str) -> Timestamp {
    s.parse().unwrap()
}

fn at(second: i64) -> Timestamp {
    Timestamp::from_second(second).unwrap()
}

/// Parse `field` of a mint's JSON output, as `--expiry-from /field` would.
fn field(output: &str, field: &str, format: ExpiryFormat) -> Result<Timestamp, ExpiryError> {
    let out: Value = serde_json::from_str(output).unwrap();
    parse_expiry(&out[field], format, now())
}

#[test]
fn databricks_expire_time_with_millis() {
    let out = r#"{"expire_time":"2026-08-21T13:46:32.418Z","token":"eyJ..."}"#;
    for f in [ExpiryFormat::Auto, ExpiryFormat::Rfc3339] {
        let got = field(out, "expire_time", f).unwrap();
        assert_eq!(got, ts("2026-08-21T13:46:32.418Z"));
        assert_eq!(format_expiry(got), "2026-08-21T13:46:32Z");
    }
}

#[test]
fn aws_sts_expiration_with_offset() {
    let out = r#"{"Credentials":{"Expiration":"2026-08-21T13:46:32+00:00"}}"#;
    let out: Value = serde_json::from_str(out).unwrap();
    let v = out.pointer("/Credentials/Expiration").unwrap();
    assert_eq!(parse_expiry(v, ExpiryFormat::Auto, now()), Ok(at(EXP)));
    assert_eq!(parse_expiry(v, ExpiryFormat::Rfc3339, now()), Ok(at(EXP)));
}

#[test]
fn non_utc_offset_and_nanoseconds() {
    let v = json!("2026-08-21T15:46:32.123456789+02:00");
    let got = parse_expiry(&v, ExpiryFormat::Auto, now()).unwrap();
    assert_eq!(got, Timestamp::new(EXP, 123_456_789).unwrap());
    let v = json!("2026-08-21T13:46:32.123456789+00:00");
    assert_eq!(
        parse_expiry(&v, ExpiryFormat::Rfc3339, now()),
        Ok(Timestamp::new(EXP, 123_456_789).unwrap())
    );
}

#[test]
fn azure_expires_on_number_and_string() {
    for out in [
        r#"{"expires_on":1787319992}"#,
        r#"{"expires_on":"1787319992"}"#,
    ] {
        assert_eq!(field(out, "expires_on", ExpiryFormat::Auto), Ok(at(EXP)));
        assert_eq!(field(out, "expires_on", ExpiryFormat::Epoch), Ok(at(EXP)));
    }
}

#[test]
fn azure_expires_on_without_zone_is_refused_with_hint() {
    let out = r#"{"expiresOn":"2026-08-21 14:46:32.000000","expires_on":1787319992}"#;
    for f in [ExpiryFormat::Auto, ExpiryFormat::Rfc3339] {
        let err = field(out, "expiresOn", f).unwrap_err();
        assert_eq!(
            err,
            ExpiryError::MissingZone {
                value: "2026-08-21 14:46:32.000000".into()
            }
        );
        let msg = err.to_string();
        assert!(msg.contains("no time zone"), "{msg}");
        assert!(msg.contains("expires_on"), "{msg}");
    }
    let err = parse_expiry(&json!("2026-08-21T14:46:32"), ExpiryFormat::Auto, now());
    assert!(
        matches!(err, Err(ExpiryError::MissingZone { .. })),
        "{err:?}"
    );
}

#[test]
fn vault_lease_duration_is_relative_to_now() {
    let out = r#"{"lease_duration":3600,"lease_id":"x"}"#;
    assert_eq!(
        field(out, "lease_duration", ExpiryFormat::Seconds),
        Ok(at(EXP))
    );
    let v = json!("3600");
    assert_eq!(parse_expiry(&v, ExpiryFormat::Seconds, now()), Ok(at(EXP)));
    // A lease of 0 is Vault's "never expires"; an expiry of now would re-mint every run.
    assert_eq!(
        parse_expiry(&json!(0), ExpiryFormat::Seconds, now()),
        Err(ExpiryError::ZeroLease)
    );
}

#[test]
fn epoch_ms_and_float_epoch() {
    let ms = json!(1_787_319_992_418_u64);
    let want = Timestamp::new(EXP, 418_000_000).unwrap();
    assert_eq!(parse_expiry(&ms, ExpiryFormat::EpochMs, now()), Ok(want));
    let ms = json!("1787319992418");
    assert_eq!(parse_expiry(&ms, ExpiryFormat::EpochMs, now()), Ok(want));

    let float = json!(1_787_319_992.5);
    let want = Timestamp::new(EXP, 500_000_000).unwrap();
    assert_eq!(parse_expiry(&float, ExpiryFormat::Epoch, now()), Ok(want));
    assert_eq!(parse_expiry(&float, ExpiryFormat::Auto, now()), Ok(want));
    let float = json!("1787319992.5");
    assert_eq!(parse_expiry(&float, ExpiryFormat::Epoch, now()), Ok(want));
}

#[test]
fn milliseconds_read_as_seconds_are_refused_with_hint() {
    let err = parse_expiry(&json!(1_787_319_992_418_u64), ExpiryFormat::Auto, now());
    let err = err.unwrap_err();
    assert!(matches!(err, ExpiryError::TooLate { .. }), "{err:?}");
    assert!(err.to_string().contains("epoch-ms"), "{err}");
}

#[test]
fn wrong_types_are_refused() {
    for (v, found) in [
        (json!(true), "a boolean"),
        (json!(null), "null"),
        (json!({"a": 1}), "an object"),
        (json!([1]), "an array"),
    ] {
        for f in [
            ExpiryFormat::Auto,
            ExpiryFormat::Epoch,
            ExpiryFormat::Seconds,
        ] {
            assert_eq!(
                parse_expiry(&v, f, now()),
                Err(ExpiryError::WrongType { found })
            );
        }
    }
    // rfc3339 wants a string, not a number.
    assert_eq!(
        parse_expiry(&json!(EXP), ExpiryFormat::Rfc3339, now()),
        Err(ExpiryError::NumberNotRfc3339)
    );
}

#[test]
fn negative_and_absurd_values_are_refused() {
    for f in [
        ExpiryFormat::Auto,
        ExpiryFormat::Epoch,
        ExpiryFormat::Seconds,
    ] {
        assert_eq!(
            parse_expiry(&json!(-1), f, now()),
            Err(ExpiryError::Negative)
        );
        assert_eq!(
            parse_expiry(&json!(-1.5), f, now()),
            Err(ExpiryError::Negative)
        );
    }
    assert_eq!(
        parse_expiry(&json!("-5"), ExpiryFormat::Epoch, now()),
        Err(ExpiryError::Negative)
    );
    let early = |v: Value, f| {
        matches!(
            parse_expiry(&v, f, now()),
            Err(ExpiryError::TooEarly { .. })
        )
    };
    assert!(early(json!(0), ExpiryFormat::Auto));
    assert!(early(json!(EARLIEST - 1), ExpiryFormat::Epoch));
    assert!(early(json!(EXP), ExpiryFormat::EpochMs)); // seconds read as ms: 1970
    assert!(early(json!("1999-12-31T23:59:59Z"), ExpiryFormat::Auto));
    assert_eq!(
        parse_expiry(&json!(EARLIEST), ExpiryFormat::Epoch, now()),
        Ok(at(EARLIEST))
    );
    let late = |v: Value, f| matches!(parse_expiry(&v, f, now()), Err(ExpiryError::TooLate { .. }));
    assert!(late(json!(u64::MAX), ExpiryFormat::Epoch));
    assert!(late(json!("99999999999999999999999"), ExpiryFormat::Epoch));
    assert!(late(json!(1e300), ExpiryFormat::Auto));
    assert!(late(json!(i64::MAX), ExpiryFormat::Seconds));
    assert!(late(json!(300_000_000_000_u64), ExpiryFormat::Epoch)); // year 11476
    // A year past 9999 does not even parse as a timestamp.
    assert!(parse_expiry(&json!("+10000-01-01T00:00:00Z"), ExpiryFormat::Auto, now()).is_err());
}

#[test]
fn unreadable_strings_are_refused_without_echoing_them() {
    for (v, f) in [
        ("s3cr3t-token", ExpiryFormat::Auto),
        ("", ExpiryFormat::Auto),
        ("1787319992", ExpiryFormat::Rfc3339),
        ("1e9", ExpiryFormat::Epoch),
        ("inf", ExpiryFormat::Epoch),
        (" 3600", ExpiryFormat::Seconds),
        ("2026-08-21T13:46:32Z", ExpiryFormat::Epoch),
    ] {
        let err = parse_expiry(&json!(v), f, now()).unwrap_err();
        assert!(
            matches!(err, ExpiryError::Unreadable { .. }),
            "{v}: {err:?}"
        );
        let msg = err.to_string();
        assert!(v.is_empty() || !msg.contains(v), "{msg}");
    }
}

#[test]
fn error_messages_are_one_lower_case_line() {
    let errors = [
        ExpiryError::WrongType { found: "null" },
        ExpiryError::NumberNotRfc3339,
        ExpiryError::Negative,
        ExpiryError::MissingZone { value: "x".into() },
        ExpiryError::Unreadable {
            expected: EPOCH,
            len: 3,
        },
        ExpiryError::TooEarly { read_as: EPOCH },
        ExpiryError::TooLate {
            read_as: EPOCH,
            hint: "",
        },
        ExpiryError::ZeroLease,
    ];
    for e in errors {
        let msg = e.to_string();
        assert!(!msg.contains('\n') && !msg.ends_with('.'), "{msg}");
        assert!(msg.starts_with(|c: char| c.is_lowercase()), "{msg}");
    }
}

#[test]
fn format_expiry_is_utc_whole_seconds() {
    assert_eq!(format_expiry(at(EXP)), "2026-08-21T13:46:32Z");
    let frac = Timestamp::new(EXP, 999_999_999).unwrap();
    assert_eq!(format_expiry(frac), "2026-08-21T13:46:32Z");
    assert_eq!(
        format_expiry(ts("2026-08-21T15:46:32+02:00")),
        "2026-08-21T13:46:32Z"
    );
}

proptest! {
    #[test]
    fn format_then_parse_round_trips(second in EARLIEST..=Timestamp::MAX.as_second()) {
        let t = at(second);
        let text = format_expiry(t);
        prop_assert_eq!(parse_expiry(&json!(text), ExpiryFormat::Rfc3339, now()), Ok(t));
        prop_assert_eq!(parse_expiry(&json!(text), ExpiryFormat::Auto, now()), Ok(t));
    }

    #[test]
    fn epoch_seconds_round_trip(second in EARLIEST..=Timestamp::MAX.as_second()) {
        prop_assert_eq!(parse_expiry(&json!(second), ExpiryFormat::Epoch, now()), Ok(at(second)));
        prop_assert_eq!(parse_expiry(&json!(second.to_string()), ExpiryFormat::Auto, now()), Ok(at(second)));
    }
}
