# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_credshim_global_optspecs
    string join \n v/verbose q/quiet h/help V/version
end

function __fish_credshim_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_credshim_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_credshim_using_subcommand
    set -l cmd (__fish_credshim_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c credshim -n "__fish_credshim_needs_command" -s v -l verbose -d 'More logging on stderr (-v info, -vv debug, -vvv trace)'
complete -c credshim -n "__fish_credshim_needs_command" -s q -l quiet -d 'Less logging on stderr (-q: errors only, -qq: nothing but the final error line)'
complete -c credshim -n "__fish_credshim_needs_command" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c credshim -n "__fish_credshim_needs_command" -s V -l version -d 'Print version'
complete -c credshim -n "__fish_credshim_needs_command" -f -a "rotate" -d 'Mint a credential and splice it into the target file, atomically and under a lock'
complete -c credshim -n "__fish_credshim_needs_command" -f -a "check" -d 'Report the time left on the credential in a target (Nagios/Icinga plugin: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN)'
complete -c credshim -n "__fish_credshim_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c credshim -n "__fish_credshim_using_subcommand rotate" -l job -d 'Read the job\'s settings (CREDSHIM_* lines) from FILE; the command line wins over it' -r -F
complete -c credshim -n "__fish_credshim_using_subcommand rotate" -l target -d 'The file that holds the credential' -r -F
complete -c credshim -n "__fish_credshim_using_subcommand rotate" -l format -d 'Target format; default by name: .json is json, .ini/.cfg/.cnf and `credentials` ini, .properties properties, .toml toml, .pgpass or pgpass pgpass, .yaml/.yml yaml, anything else env' -r -f -a "env\t'`KEY=value` lines, read by dotenvy, python-dotenv, compose, systemd and sh'
json\t'A JSON document; KEY is a JSON pointer to a string member'
raw\t'The whole file is the value; the one KEY is `-`'
properties\t'Java `.properties`; KEY is the property name as Java loads it'
toml\t'A TOML document; KEY is a pointer to a string value through tables'
pgpass\t'libpq\'s password file; KEY is `HOST:PORT:DATABASE:USER` as written'
yaml\t'A YAML document; KEY is a pointer through its mappings to a scalar'
ini\t'An INI file (`~/.aws/credentials`, `my.cnf`); KEY is `/section/key`'"
complete -c credshim -n "__fish_credshim_using_subcommand rotate" -l set -d 'Set KEY from SOURCE. KEY: a variable name (env), a JSON pointer into the target (json), or `-` (raw). SOURCE: a JSON pointer into the mint\'s stdout (/token), @expiry (the credential\'s expiry, RFC 3339 UTC), or, when omitted, the whole stdout with one trailing newline removed. Repeatable; CREDSHIM_SET takes several, separated by commas' -r
complete -c credshim -n "__fish_credshim_using_subcommand rotate" -l expiry-from -d 'Where the mint\'s JSON output says when the credential expires (a JSON pointer)' -r
complete -c credshim -n "__fish_credshim_using_subcommand rotate" -l expiry-format -d 'How to read the --expiry-from value' -r -f -a "auto\t'A JSON number or digit string is epoch seconds; anything else RFC 3339 with a zone'
rfc3339\t'RFC 3339 with `Z` or an offset, e.g. `2026-08-21T13:46:32Z`'
epoch\t'Seconds since the Unix epoch, integer or fractional'
epoch-ms\t'Milliseconds since the Unix epoch'
seconds\t'Seconds from now, like Vault\'s `lease_duration`'"
complete -c credshim -n "__fish_credshim_using_subcommand rotate" -l ttl -d 'Declared lifetime of credentials that state none (opaque tokens)' -r
complete -c credshim -n "__fish_credshim_using_subcommand rotate" -l min-ttl -d 'Skip minting while the credential in the target has more than this left' -r
complete -c credshim -n "__fish_credshim_using_subcommand rotate" -l retries -d 'Extra attempts of a failing mint, with exponential backoff and full jitter' -r
complete -c credshim -n "__fish_credshim_using_subcommand rotate" -l splay -d 'Sleep a random time up to this before starting (cron has no RandomizedDelaySec)' -r
complete -c credshim -n "__fish_credshim_using_subcommand rotate" -l metrics-file -d 'Write Prometheus textfile-collector metrics here, atomically, on every run' -r -F
complete -c credshim -n "__fish_credshim_using_subcommand rotate" -l reload -d 'Shell command run after the target changed (and on the next run, if it failed)' -r
complete -c credshim -n "__fish_credshim_using_subcommand rotate" -l probe -d 'Before the new file replaces the old, run this (/bin/sh -c) with CREDSHIM_CANDIDATE set to the verified new file; a failure on every try keeps the old file (69)' -r
complete -c credshim -n "__fish_credshim_using_subcommand rotate" -l probe-timeout -d 'How long each try of the probe may run' -r
complete -c credshim -n "__fish_credshim_using_subcommand rotate" -l mint-timeout -d 'How long the mint may run' -r
complete -c credshim -n "__fish_credshim_using_subcommand rotate" -l reload-timeout -d 'How long the reload may run' -r
complete -c credshim -n "__fish_credshim_using_subcommand rotate" -l lock-timeout -d 'How long to wait for another run\'s lock on the same target' -r
complete -c credshim -n "__fish_credshim_using_subcommand rotate" -l deadline -d 'Bound on the whole run: lock wait and mint attempts together' -r
complete -c credshim -n "__fish_credshim_using_subcommand rotate" -l output -d 'What to print on stdout' -r -f -a "text\t'Nothing on success (cron mails any output); the masked change with --dry-run'
json\t'One JSON object describing the run, success or failure; never a secret'"
complete -c credshim -n "__fish_credshim_using_subcommand rotate" -l mint -d 'Shell command line that mints, used when no MINT_COMMAND follows --' -r
complete -c credshim -n "__fish_credshim_using_subcommand rotate" -l create -d 'Create the target (mode 0600) when it does not exist'
complete -c credshim -n "__fish_credshim_using_subcommand rotate" -l dry-run -d 'Do everything but write and reload; show the change with values masked'
complete -c credshim -n "__fish_credshim_using_subcommand rotate" -l allow-in-place -d 'When the target cannot be replaced by rename (EBUSY: a single file bind-mounted into a container), rewrite it in place after an fsync\'ed backup: not atomic, so only on request'
complete -c credshim -n "__fish_credshim_using_subcommand rotate" -s v -l verbose -d 'More logging on stderr (-v info, -vv debug, -vvv trace)'
complete -c credshim -n "__fish_credshim_using_subcommand rotate" -s q -l quiet -d 'Less logging on stderr (-q: errors only, -qq: nothing but the final error line)'
complete -c credshim -n "__fish_credshim_using_subcommand rotate" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c credshim -n "__fish_credshim_using_subcommand rotate" -s V -l version -d 'Print version'
complete -c credshim -n "__fish_credshim_using_subcommand check" -l job -d 'Read the job\'s settings (CREDSHIM_* lines) from FILE; the command line wins over it' -r -F
complete -c credshim -n "__fish_credshim_using_subcommand check" -l target -d 'The file that holds the credential' -r -F
complete -c credshim -n "__fish_credshim_using_subcommand check" -l format -d 'Target format; default by name: .json is json, .ini/.cfg/.cnf and `credentials` ini, .properties properties, .toml toml, .pgpass or pgpass pgpass, .yaml/.yml yaml, anything else env' -r -f -a "env\t'`KEY=value` lines, read by dotenvy, python-dotenv, compose, systemd and sh'
json\t'A JSON document; KEY is a JSON pointer to a string member'
raw\t'The whole file is the value; the one KEY is `-`'
properties\t'Java `.properties`; KEY is the property name as Java loads it'
toml\t'A TOML document; KEY is a pointer to a string value through tables'
pgpass\t'libpq\'s password file; KEY is `HOST:PORT:DATABASE:USER` as written'
yaml\t'A YAML document; KEY is a pointer through its mappings to a scalar'
ini\t'An INI file (`~/.aws/credentials`, `my.cnf`); KEY is `/section/key`'"
complete -c credshim -n "__fish_credshim_using_subcommand check" -l key -d 'The key of the credential; its JWT `exp` is read unless --expiry-key is given. Default: the first key of CREDSHIM_SET (a --job file\'s) taken from the mint' -r
complete -c credshim -n "__fish_credshim_using_subcommand check" -l expiry-key -d 'A key holding the credential\'s expiry as RFC 3339 (one written from @expiry). Default, when --key is not given either: the key CREDSHIM_SET writes from @expiry' -r
complete -c credshim -n "__fish_credshim_using_subcommand check" -l warn -d 'WARNING when less than this is left: a rotation is overdue (at most the job\'s --min-ttl minus two timer periods)' -r
complete -c credshim -n "__fish_credshim_using_subcommand check" -l crit -d 'CRITICAL when less than this is left (or expired, or missing)' -r
complete -c credshim -n "__fish_credshim_using_subcommand check" -s v -l verbose -d 'More logging on stderr (-v info, -vv debug, -vvv trace)'
complete -c credshim -n "__fish_credshim_using_subcommand check" -s q -l quiet -d 'Less logging on stderr (-q: errors only, -qq: nothing but the final error line)'
complete -c credshim -n "__fish_credshim_using_subcommand check" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c credshim -n "__fish_credshim_using_subcommand check" -s V -l version -d 'Print version'
complete -c credshim -n "__fish_credshim_using_subcommand help; and not __fish_seen_subcommand_from rotate check help" -f -a "rotate" -d 'Mint a credential and splice it into the target file, atomically and under a lock'
complete -c credshim -n "__fish_credshim_using_subcommand help; and not __fish_seen_subcommand_from rotate check help" -f -a "check" -d 'Report the time left on the credential in a target (Nagios/Icinga plugin: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN)'
complete -c credshim -n "__fish_credshim_using_subcommand help; and not __fish_seen_subcommand_from rotate check help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
