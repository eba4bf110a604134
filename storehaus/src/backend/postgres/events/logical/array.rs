//! Reading a one-dimensional `text[]` in PostgreSQL's text form, such as `{a,"b c","d\"e",NULL}`:
//! the tags of an event-log row as the decoding plugin prints them.

/// The elements of `literal`; null elements are left out (tags are never null).
pub(super) fn text_array(literal: &str) -> Result<Vec<String>, &'static str> {
    // A lower bound other than 1 comes first: `[0:1]={a,b}`.
    let literal = match literal.strip_prefix('[') {
        Some(_) => literal.split_once('=').ok_or("`=` after the array bounds")?.1,
        None => literal,
    };
    let body = literal.trim().strip_prefix('{').and_then(|rest| rest.strip_suffix('}')).ok_or("an array in braces")?;
    let mut elements = Vec::new();
    let mut chars = body.chars().peekable();
    while chars.peek().is_some() {
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        let mut element = String::new();
        let quoted = chars.next_if_eq(&'"').is_some();
        if quoted {
            loop {
                match chars.next().ok_or("a closing quote")? {
                    '"' => break,
                    '\\' => element.push(chars.next().ok_or("a character after `\\`")?),
                    c => element.push(c),
                }
            }
            while chars.next_if(|c| c.is_whitespace()).is_some() {}
        } else {
            while let Some(c) = chars.next_if(|&c| c != ',') {
                match c {
                    '{' | '}' | '"' => return Err("a one-dimensional array"),
                    '\\' => element.push(chars.next().ok_or("a character after `\\`")?),
                    c => element.push(c),
                }
            }
            let trimmed = element.trim_end();
            if trimmed.is_empty() {
                return Err("an element");
            }
            if trimmed.eq_ignore_ascii_case("NULL") {
                element.clear();
                chars.next_if_eq(&',');
                continue;
            }
            element.truncate(trimmed.len());
        }
        elements.push(element);
        match chars.next() {
            None => break,
            Some(',') if chars.peek().is_some() => {}
            Some(_) => return Err("`,` between elements"),
        }
    }
    Ok(elements)
}

#[cfg(test)]
mod tests {
    use super::text_array;

    #[test]
    fn plain_quoted_and_escaped_elements() {
        assert_eq!(text_array("{}"), Ok(vec![]));
        assert_eq!(text_array("{a}"), Ok(vec!["a".to_owned()]));
        assert_eq!(
            text_array(r#"{a,"b c","d\"e","f\\g",NULL,"NULL","",ü,"{x}"}"#),
            Ok(["a", "b c", "d\"e", "f\\g", "NULL", "", "ü", "{x}"].map(String::from).to_vec())
        );
        assert_eq!(text_array(r#"{ a , "b" }"#), Ok(vec!["a".to_owned(), "b".to_owned()]));
        assert_eq!(text_array("[0:1]={x,y}"), Ok(vec!["x".to_owned(), "y".to_owned()]));
        assert_eq!(text_array("{\"line\nbreak\"}"), Ok(vec!["line\nbreak".to_owned()]));
    }

    #[test]
    fn malformed_arrays_are_errors() {
        for literal in ["", "a,b", "{a", "{\"a}", "{{a},{b}}", "{a,}", "{,a}", "{\"a\"b}", "[0:1]{a}"] {
            assert!(text_array(literal).is_err(), "{literal:?} parsed");
        }
    }
}
