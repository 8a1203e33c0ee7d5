<?php
// Read INI files with PHP's parse_ini_file (sections on, the default INI_SCANNER_NORMAL), for
// tests/integration/readers_ini.rs. File names on stdin, one per line; prints one JSON object
// {name: {section: {key: [value]}}} (keys before any section under "") or {name: {"error": msg}}.
$out = [];
foreach (file('php://stdin', FILE_IGNORE_NEW_LINES | FILE_SKIP_EMPTY_LINES) as $name) {
    $r = @parse_ini_file($name, true);
    if ($r === false) {
        $e = error_get_last();
        $out[$name] = ["error" => $e ? $e["message"] : "parse_ini_file failed"];
        continue;
    }
    $sections = [];
    foreach ($r as $k => $v) {
        if (is_array($v)) {
            foreach ($v as $kk => $vv) {
                $sections[(string)$k][(string)$kk] = [is_array($vv) ? json_encode($vv) : (string)$vv];
            }
        } else {
            $sections[""][(string)$k] = [(string)$v];
        }
    }
    $out[$name] = (object)array_map(fn($s) => (object)$s, $sections);
}
echo json_encode((object)$out, JSON_INVALID_UTF8_SUBSTITUTE | JSON_UNESCAPED_SLASHES), "\n";
