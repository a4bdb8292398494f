//! Turning an evcxr error into text a person can act on.

/// The compiler's own rendering of each error (file, line, caret), or evcxr's message.
pub fn describe(error: &evcxr::Error) -> String {
    match error {
        evcxr::Error::CompilationErrors(errors) => {
            let parts: Vec<String> = errors
                .iter()
                .map(|e| {
                    let rendered = e.rendered();
                    if rendered.trim().is_empty() { e.message() } else { rendered }
                })
                .collect();
            let text = parts.join("\n").trim_end().to_owned();
            if text.is_empty() { error.to_string() } else { text }
        }
        other => other.to_string(),
    }
}
