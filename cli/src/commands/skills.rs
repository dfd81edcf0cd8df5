//! `atmos ai skills`.

use crate::args::{FormatArg, TextFormat};
use crate::output::{self, Outcome};
use atmos_ai::skills::Skills;
use std::path::PathBuf;

pub fn run(config: Option<PathBuf>, args: FormatArg) -> Outcome {
    let project = super::load_project(config)?;
    let skills = Skills::load(&project)?;
    let text = match args.format {
        TextFormat::Json => output::json(&serde_json::json!({
            "default": skills.default_name(),
            "skills": skills.iter().map(|s| serde_json::json!({
                "name": s.name, "displayName": s.display_name,
                "description": s.description, "source": s.source,
            })).collect::<Vec<_>>(),
        })),
        TextFormat::Text => output::table(
            &["NAME", "DISPLAY NAME", "DESCRIPTION", "SOURCE"],
            skills
                .iter()
                .map(|s| {
                    let mark = if s.name == skills.default_name() {
                        " (default)"
                    } else {
                        ""
                    };
                    vec![
                        format!("{}{mark}", s.name),
                        s.display_name.clone(),
                        s.description.clone(),
                        s.source.clone(),
                    ]
                })
                .collect(),
        ),
    };
    output::emit(&text, args.output.as_deref())
}
