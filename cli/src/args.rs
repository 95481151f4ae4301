//! A small hand-written command-line parser driven by a static description of
//! each command, which also renders that command's `--help`.

use std::str::FromStr;

use crate::fail::{Failure, EXIT_CODES};

/// One option of a command.
pub struct Opt {
    /// Long name without the dashes: `batch` for `--batch`.
    pub long: &'static str,
    pub short: Option<char>,
    /// Name of the option's value (`N`, `FILE`); `None` for a flag.
    pub value: Option<&'static str>,
    pub help: &'static str,
    /// Whether the command needs it.
    pub required: bool,
}

/// A command: its positional arguments, options and help text.
pub struct Spec {
    pub name: &'static str,
    /// Positional argument names, all required.
    pub args: &'static [&'static str],
    pub opts: &'static [Opt],
    /// One line for the command list.
    pub summary: &'static str,
    /// Paragraphs shown by `vecstore COMMAND --help`.
    pub details: &'static str,
}

/// What the command line asked for.
#[derive(Debug)]
pub struct Parsed {
    positionals: Vec<String>,
    /// (long name, value); flags have an empty value.
    given: Vec<(&'static str, String)>,
}

/// Parses `argv` (the words after the command name) against `spec`.
/// `Ok(None)` means help was asked for.
pub fn parse(spec: &Spec, argv: &[String]) -> Result<Option<Parsed>, Failure> {
    let mut parsed = Parsed {
        positionals: Vec::new(),
        given: Vec::new(),
    };
    let mut words = argv.iter();
    let mut options_done = false;
    while let Some(word) = words.next() {
        if options_done || word == "-" || !word.starts_with('-') {
            parsed.positionals.push(word.clone());
            continue;
        }
        if word == "--" {
            options_done = true;
            continue;
        }
        if word == "-h" || word == "--help" {
            return Ok(None);
        }
        let (opt, inline) = find_opt(spec, word)?;
        if parsed.given.iter().any(|(name, _)| *name == opt.long) {
            return Err(usage_error(spec, &format!("{} given twice", opt.display())));
        }
        let value = match (opt.value, inline) {
            (None, None) => String::new(),
            (None, Some(_)) => {
                return Err(usage_error(
                    spec,
                    &format!("{} takes no value", opt.display()),
                ))
            }
            (Some(_), Some(v)) => v,
            (Some(name), None) => words.next().cloned().ok_or_else(|| {
                usage_error(spec, &format!("{} needs a value ({name})", opt.display()))
            })?,
        };
        parsed.given.push((opt.long, value));
    }
    if let Some(missing) = spec
        .opts
        .iter()
        .find(|o| o.required && !parsed.flag(o.long))
    {
        let name = match missing.value {
            Some(value) => format!("{} {value}", missing.display()),
            None => missing.display(),
        };
        return Err(usage_error(spec, &format!("{name} is required")));
    }
    if parsed.positionals.len() != spec.args.len() {
        let problem = match spec.args.get(parsed.positionals.len()) {
            Some(missing) => format!("missing {missing}"),
            None => format!(
                "unexpected argument '{}'",
                parsed.positionals[spec.args.len()]
            ),
        };
        return Err(usage_error(spec, &problem));
    }
    Ok(Some(parsed))
}

/// The option a word names, with a value given inline (`--batch=10`, `-k10`).
fn find_opt<'s>(spec: &'s Spec, word: &str) -> Result<(&'s Opt, Option<String>), Failure> {
    let found = if let Some(long) = word.strip_prefix("--") {
        let (name, inline) = match long.split_once('=') {
            Some((name, value)) => (name, Some(value.to_string())),
            None => (long, None),
        };
        spec.opts
            .iter()
            .find(|o| o.long == name)
            .map(|o| (o, inline))
    } else {
        let mut chars = word[1..].chars();
        let letter = chars.next();
        let rest: String = chars.collect();
        spec.opts
            .iter()
            .find(|o| o.short.is_some() && o.short == letter)
            .map(|o| (o, (!rest.is_empty()).then_some(rest)))
    };
    found.ok_or_else(|| usage_error(spec, &format!("unknown option '{word}'")))
}

impl Opt {
    fn display(&self) -> String {
        dashed(self.long)
    }
}

/// `--batch`, or `-k` for a one-letter option.
fn dashed(long: &str) -> String {
    if long.len() == 1 {
        format!("-{long}")
    } else {
        format!("--{long}")
    }
}

impl Parsed {
    /// The `i`-th positional argument (the parser checked the count).
    pub fn arg(&self, i: usize) -> &str {
        &self.positionals[i]
    }

    pub fn flag(&self, long: &str) -> bool {
        self.given.iter().any(|(name, _)| *name == long)
    }

    pub fn value(&self, long: &str) -> Option<&str> {
        self.given
            .iter()
            .find(|(name, _)| *name == long)
            .map(|(_, v)| v.as_str())
    }

    /// The value of `--long` parsed as `T`, or `default` when absent.
    pub fn number<T: FromStr>(&self, spec: &Spec, long: &str, default: T) -> Result<T, Failure> {
        match self.value(long) {
            None => Ok(default),
            Some(text) => text.parse().map_err(|_| {
                usage_error(
                    spec,
                    &format!("{}: '{text}' is not a valid number", dashed(long)),
                )
            }),
        }
    }

    /// The value of `--long`, which must be one of `choices`, or `default`.
    pub fn choice<T: Copy>(
        &self,
        spec: &Spec,
        long: &str,
        choices: &[(&str, T)],
        default: T,
    ) -> Result<T, Failure> {
        let Some(text) = self.value(long) else {
            return Ok(default);
        };
        choices
            .iter()
            .find(|(name, _)| *name == text)
            .map(|(_, v)| *v)
            .ok_or_else(|| {
                let names: Vec<&str> = choices.iter().map(|(n, _)| *n).collect();
                usage_error(
                    spec,
                    &format!(
                        "{}: '{text}' is not one of {}",
                        dashed(long),
                        names.join(", ")
                    ),
                )
            })
    }
}

/// A usage error for `spec`, pointing at its help.
pub fn usage_error(spec: &Spec, problem: &str) -> Failure {
    Failure::usage(format!(
        "{problem}\nusage: {}\nTry 'vecstore {} --help'.",
        usage_line(spec),
        spec.name
    ))
}

/// `vecstore import DIR FILE [--ids FILE] ...`
pub fn usage_line(spec: &Spec) -> String {
    let mut line = format!("vecstore {}", spec.name);
    for arg in spec.args {
        line.push(' ');
        line.push_str(arg);
    }
    for opt in spec.opts {
        let (open, close) = if opt.required { ("", "") } else { ("[", "]") };
        match opt.value {
            Some(value) => line.push_str(&format!(" {open}{} {value}{close}", opt.display())),
            None => line.push_str(&format!(" {open}{}{close}", opt.display())),
        }
    }
    line
}

/// The full `vecstore COMMAND --help` text.
pub fn help(spec: &Spec) -> String {
    let mut text = format!(
        "{}\n\nusage: {}\n\n{}\n",
        spec.summary,
        usage_line(spec),
        spec.details.trim_end()
    );
    if !spec.opts.is_empty() {
        text.push_str("\nOptions:\n");
        for opt in spec.opts {
            let mut names = match opt.short {
                Some(c) if opt.long.len() > 1 => format!("-{c}, --{}", opt.long),
                _ if opt.long.len() == 1 => opt.display(),
                _ => format!("    {}", opt.display()),
            };
            if let Some(value) = opt.value {
                names.push(' ');
                names.push_str(value);
            }
            text.push_str(&format!("  {names:<28} {}\n", opt.help));
        }
    }
    text.push_str("  -h, --help                   this help\n\n");
    text.push_str(EXIT_CODES);
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPEC: Spec = Spec {
        name: "demo",
        args: &["DIR", "FILE"],
        opts: &[
            Opt {
                long: "batch",
                short: None,
                value: Some("N"),
                help: "",
                required: false,
            },
            Opt {
                long: "k",
                short: Some('k'),
                value: Some("N"),
                help: "",
                required: false,
            },
            Opt {
                long: "json",
                short: None,
                value: None,
                help: "",
                required: false,
            },
        ],
        summary: "",
        details: "",
    };

    fn words(s: &str) -> Vec<String> {
        s.split_whitespace().map(String::from).collect()
    }

    fn ok(s: &str) -> Parsed {
        parse(&SPEC, &words(s)).unwrap().unwrap()
    }

    fn err(s: &str) -> String {
        parse(&SPEC, &words(s)).unwrap_err().message
    }

    #[test]
    fn options_in_every_spelling() {
        let p = ok("d --batch 5 f -k3 --json");
        assert_eq!((p.arg(0), p.arg(1)), ("d", "f"));
        assert_eq!(p.number(&SPEC, "batch", 0u32).unwrap(), 5);
        assert_eq!(p.number(&SPEC, "k", 0u32).unwrap(), 3);
        assert!(p.flag("json"));
        let p = ok("--batch=7 -k 2 -- -d f");
        assert_eq!(p.arg(0), "-d");
        assert_eq!(p.number(&SPEC, "batch", 0u32).unwrap(), 7);
        assert_eq!(p.number(&SPEC, "k", 0u32).unwrap(), 2);
        assert!(!p.flag("json"));
        assert_eq!(ok("d f").number(&SPEC, "batch", 9u32).unwrap(), 9);
    }

    #[test]
    fn help_is_recognised_anywhere() {
        assert!(parse(&SPEC, &words("d --help")).unwrap().is_none());
        assert!(parse(&SPEC, &words("-h")).unwrap().is_none());
    }

    #[test]
    fn mistakes_are_named() {
        assert!(err("d f --nope").starts_with("unknown option '--nope'"));
        assert!(err("d f --batch").starts_with("--batch needs a value"));
        assert!(err("d f --json=1").starts_with("--json takes no value"));
        assert!(err("d f -k 1 -k 2").starts_with("-k given twice"));
        assert!(err("d").starts_with("missing FILE"));
        assert!(err("d f g").starts_with("unexpected argument 'g'"));
        let p = ok("d f --batch x");
        assert!(p
            .number(&SPEC, "batch", 0u32)
            .unwrap_err()
            .message
            .starts_with("--batch: 'x' is not a valid number"));
        assert!(err("d").contains("Try 'vecstore demo --help'"));
    }
}
