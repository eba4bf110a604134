//! Glob patterns as Redis `SCAN MATCH` reads them, for the backends that match keys themselves.

/// Whether `text` matches `pattern`: `*` any run of bytes, `?` one byte, `[abc]`, `[a-z]` and
/// `[^a]` one byte of a set, `\x` the byte `x` itself.
pub fn glob_match(pattern: &str, text: &str) -> bool {
    matches(pattern.as_bytes(), text.as_bytes())
}

/// `text` as a pattern that matches only itself: `*`, `?`, `[`, `]` and `\` escaped with `\`.
pub fn glob_escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len() + 4);
    for c in text.chars() {
        if matches!(c, '*' | '?' | '[' | ']' | '\\') {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped
}

fn matches(pattern: &[u8], text: &[u8]) -> bool {
    // Iterative matching with one backtrack point (the last `*`), linear in practice.
    let (mut p, mut t) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        if p < pattern.len() {
            match pattern[p] {
                b'*' => {
                    star = Some((p, t));
                    p += 1;
                    continue;
                }
                b'?' => {
                    p += 1;
                    t += 1;
                    continue;
                }
                b'[' => {
                    if let Some((hit, next)) = class(&pattern[p..], text[t]) {
                        if hit {
                            p += next;
                            t += 1;
                            continue;
                        }
                    } else if text[t] == b'[' {
                        p += 1;
                        t += 1;
                        continue;
                    }
                }
                b'\\' if p + 1 < pattern.len() => {
                    if pattern[p + 1] == text[t] {
                        p += 2;
                        t += 1;
                        continue;
                    }
                }
                byte => {
                    if byte == text[t] {
                        p += 1;
                        t += 1;
                        continue;
                    }
                }
            }
        }
        match star {
            Some((star_p, star_t)) => {
                p = star_p + 1;
                t = star_t + 1;
                star = Some((star_p, star_t + 1));
            }
            None => return false,
        }
    }
    pattern[p..].iter().all(|&b| b == b'*')
}

/// Matches `byte` against the class opening `pattern`: whether it is in it and the class's
/// length; `None` when the class is not closed.
fn class(pattern: &[u8], byte: u8) -> Option<(bool, usize)> {
    let mut i = 1;
    let negate = pattern.get(i) == Some(&b'^');
    if negate {
        i += 1;
    }
    let mut hit = false;
    loop {
        let current = *pattern.get(i)?;
        if current == b']' && i > 1 + usize::from(negate) {
            return Some((hit != negate, i + 1));
        }
        let current = if current == b'\\' {
            i += 1;
            *pattern.get(i)?
        } else {
            current
        };
        if pattern.get(i + 1) == Some(&b'-') && pattern.get(i + 2).is_some_and(|&b| b != b']') {
            let end = pattern[i + 2];
            let (low, high) = if current <= end { (current, end) } else { (end, current) };
            hit |= (low..=high).contains(&byte);
            i += 3;
        } else {
            hit |= current == byte;
            i += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{glob_escape, glob_match};

    #[test]
    fn an_escaped_text_matches_itself_only() {
        let pattern = glob_escape("a*b?[c]\\d");
        assert!(glob_match(&pattern, "a*b?[c]\\d"));
        assert!(!glob_match(&pattern, "axbx[c]\\d"));
    }

    #[test]
    fn stars_questions_and_literals() {
        assert!(glob_match("counter:*", "counter:{user:1}:views"));
        assert!(glob_match("*", ""));
        assert!(glob_match("a*b*c", "axxbyyc"));
        assert!(!glob_match("a*b*c", "axxbyy"));
        assert!(glob_match("h?llo", "hello"));
        assert!(!glob_match("h?llo", "hllo"));
        assert!(!glob_match("abc", "abcd"));
        assert!(glob_match("abc*", "abc"));
    }

    #[test]
    fn classes_and_escapes() {
        assert!(glob_match("h[ae]llo", "hallo"));
        assert!(!glob_match("h[ae]llo", "hillo"));
        assert!(glob_match("h[^e]llo", "hallo"));
        assert!(!glob_match("h[^e]llo", "hello"));
        assert!(glob_match("h[a-c]llo", "hbllo"));
        assert!(glob_match(r"a\*b", "a*b"));
        assert!(!glob_match(r"a\*b", "axb"));
        assert!(glob_match(r"\{x\}", "{x}"));
    }
}
