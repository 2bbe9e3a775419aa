//! Fills `{{NAME}}` placeholders in the embedded HTML templates in one pass,
//! so a value that itself contains `{{...}}` is never expanded again.

/// Replaces each `{{NAME}}` with its value; unknown names stay as they are.
/// Values must already be escaped for where they land.
pub fn fill(template: &str, values: &[(&str, &str)]) -> String {
    let mut out = String::with_capacity(template.len() + values.iter().map(|(_, v)| v.len()).sum::<usize>());
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        match after.find("}}").and_then(|end| values.iter().find(|(n, _)| *n == &after[..end]).map(|v| (end, v.1))) {
            Some((end, value)) => {
                out.push_str(value);
                rest = &after[end + 2..];
            }
            None => {
                out.push_str("{{");
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::fill;

    #[test]
    fn fills_once() {
        let t = "<h1>{{KEY}}</h1>{{TOTAL}}{{UNKNOWN}}{{";
        assert_eq!(fill(t, &[("KEY", "{{TOTAL}}"), ("TOTAL", "5")]), "<h1>{{TOTAL}}</h1>5{{UNKNOWN}}{{");
    }
}
