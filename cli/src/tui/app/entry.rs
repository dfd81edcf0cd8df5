//! A block of the transcript and its cached drawing.

/// One block of the transcript. Entries do not change once in the transcript (they are
/// pushed, popped or replaced whole), so each keeps its drawing at the last width: a scroll,
/// a new message or a spinner tick never renders the others' markdown again.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub kind: EntryKind,
    pub text: String,
    /// An archived message (a summary stands for it, or a retry replaced
    /// it): shown dimmed.
    pub summarised: bool,
    /// The stored message it shows, when it is one (a live update from
    /// another process replaces the entry of the same id).
    pub id: Option<i64>,
    /// Pinned: never compacted, always sent.
    pub pinned: bool,
    pub(crate) drawn: Drawn,
}

/// An entry's lines as drawn at one width (see [`Entry`]). Never part of equality.
#[derive(Clone, Default)]
pub(crate) struct Drawn(
    std::cell::RefCell<Option<(usize, std::rc::Rc<[ratatui::text::Line<'static>]>)>>,
);

impl Drawn {
    /// The lines at `width`, drawn by `draw` only when the width changed.
    pub(crate) fn at(
        &self,
        width: usize,
        draw: impl FnOnce() -> Vec<ratatui::text::Line<'static>>,
    ) -> std::rc::Rc<[ratatui::text::Line<'static>]> {
        let mut cell = self.0.borrow_mut();
        match &*cell {
            Some((w, lines)) if *w == width => lines.clone(),
            _ => {
                let lines: std::rc::Rc<[_]> = draw().into();
                *cell = Some((width, lines.clone()));
                lines
            }
        }
    }
}

impl PartialEq for Drawn {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl std::fmt::Debug for Drawn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Drawn")
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryKind {
    User,
    Assistant {
        interrupted: bool,
    },
    /// A compaction summary, shown with its `[SUMMARY: …]` markers.
    Summary,
    Note,
    Error,
}

impl Entry {
    pub fn new(kind: EntryKind, text: impl Into<String>) -> Entry {
        Entry {
            kind,
            text: text.into(),
            summarised: false,
            id: None,
            pinned: false,
            drawn: Drawn::default(),
        }
    }

    /// The entry of stored message `id`.
    pub fn with_id(self, id: i64, pinned: bool) -> Entry {
        Entry {
            id: Some(id),
            pinned,
            ..self
        }
    }

    /// A message that a summary replaced in what the model sees.
    pub fn summarised(kind: EntryKind, text: impl Into<String>) -> Entry {
        Entry {
            summarised: true,
            ..Entry::new(kind, text)
        }
    }

    pub fn note(text: impl Into<String>) -> Entry {
        Entry::new(EntryKind::Note, text)
    }

    pub fn error(text: impl Into<String>) -> Entry {
        Entry::new(EntryKind::Error, text)
    }
}
