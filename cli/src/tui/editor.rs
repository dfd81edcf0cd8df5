//! Ctrl+G: the message written in the user's own editor, as `git commit`
//! does it: `$VISUAL`, else `$EDITOR`, else `vi`, run through the shell (so
//! `code --wait` or `nvim -u NONE` work) on a private temporary file that
//! holds the draft.

use std::process::Command;

/// Opens the user's editor on `draft` and returns what the file holds when
/// it exits; an error says why there is no new text (the caller keeps the
/// draft).
pub fn edit(draft: &str) -> Result<String, String> {
    let editor = ["VISUAL", "EDITOR"]
        .iter()
        .find_map(|v| std::env::var(v).ok().filter(|e| !e.trim().is_empty()))
        .unwrap_or_else(|| "vi".to_string());
    edit_with(&editor, draft)
}

/// [`edit`] with the editor's command line given.
fn edit_with(editor: &str, draft: &str) -> Result<String, String> {
    // Created 0600 (the message may hold secrets) and removed on return.
    let file = tempfile::Builder::new()
        .prefix("atmos-message-")
        .suffix(".md")
        .tempfile()
        .map_err(|e| format!("cannot create a file for the editor: {e}"))?;
    std::fs::write(file.path(), draft)
        .map_err(|e| format!("cannot write the draft for the editor: {e}"))?;
    let status = Command::new("sh")
        .arg("-c")
        .arg(format!("{editor} \"$@\""))
        .arg(editor)
        .arg(file.path())
        .status()
        .map_err(|e| format!("cannot start the editor '{editor}': {e}"))?;
    if !status.success() {
        return Err(format!(
            "the editor '{editor}' exited with {} (set $VISUAL or $EDITOR to choose another)",
            status
                .code()
                .map_or_else(|| "a signal".to_string(), |c| format!("status {c}"))
        ));
    }
    std::fs::read_to_string(file.path())
        .map_err(|e| format!("cannot read what the editor wrote: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_editor_gets_the_draft_and_its_file_becomes_the_message() {
        let out = edit_with("sed -i 's/draft/message from the editor/'", "my draft\n");
        assert_eq!(out.unwrap(), "my message from the editor\n");
    }

    #[test]
    fn an_editor_that_fails_or_is_missing_says_so() {
        let err = edit_with("false", "x").unwrap_err();
        assert!(err.contains("'false' exited with status 1"), "{err}");
        let err = edit_with("no-such-editor-atmos", "x").unwrap_err();
        assert!(err.contains("no-such-editor-atmos"), "{err}");
    }
}
