//! Skills: a system prompt with a name. The built-in `general` skill, skills
//! from `ai.skills` in atmos.yaml, and `SKILL.md` folders under
//! `<root>/.atmos/skills/` (the open Agent Skills layout: YAML front matter
//! with `name` and `description`, the body as the instructions).
//!
//! Later sources override earlier ones of the same name: built-in, then
//! folders, then atmos.yaml.

use crate::config::Project;
use indexmap::IndexMap;
use serde::Deserialize;
use std::path::Path;

/// The skill every project has.
pub const BUILTIN_SKILL: &str = "general";

/// Where SKILL.md folders live, relative to the project root.
pub const SKILLS_DIR: &str = ".atmos/skills";

const GENERAL_PROMPT: &str = "You are an expert assistant for infrastructure engineers who use Atmos \
to manage Terraform components and stacks. Answer precisely and concisely. When you show \
configuration, use valid YAML or HCL. Keep track of the decisions made earlier in the \
conversation (stack names, CIDR ranges, component choices, security settings) and build on them.";

/// One skill.
#[derive(Debug, Clone, PartialEq)]
pub struct Skill {
    pub name: String,
    pub display_name: String,
    pub description: String,
    pub system_prompt: String,
    /// Where it came from: `built-in`, `atmos.yaml`, or the SKILL.md path.
    pub source: String,
}

/// Every skill of a project, by name, in a stable order.
#[derive(Debug, Clone)]
pub struct Skills {
    skills: IndexMap<String, Skill>,
    default: String,
}

impl Skills {
    /// Gathers the skills of a project. A SKILL.md that does not parse is
    /// skipped with a warning; a `default_skill` that names no skill is a
    /// config error.
    pub fn load(project: &Project) -> crate::Result<Skills> {
        let mut skills = IndexMap::new();
        skills.insert(
            BUILTIN_SKILL.to_string(),
            Skill {
                name: BUILTIN_SKILL.into(),
                display_name: "General".into(),
                description: "General Atmos and infrastructure assistant".into(),
                system_prompt: GENERAL_PROMPT.into(),
                source: "built-in".into(),
            },
        );
        for skill in folder_skills(&project.root.join(SKILLS_DIR)) {
            skills.insert(skill.name.clone(), skill);
        }
        for (name, s) in &project.config.skills {
            skills.insert(
                name.clone(),
                Skill {
                    name: name.clone(),
                    display_name: s.display_name.clone().unwrap_or_else(|| name.clone()),
                    description: s.description.clone().unwrap_or_default(),
                    system_prompt: s.system_prompt.clone(),
                    source: "atmos.yaml".into(),
                },
            );
        }
        let default = match &project.config.default_skill {
            None => BUILTIN_SKILL.to_string(),
            Some(d) if skills.contains_key(d) => d.clone(),
            Some(d) => {
                return Err(crate::Error::ConfigInvalid {
                    key: "ai.default_skill".into(),
                    value: d.clone(),
                    rule: format!(
                        "must name a skill: {}",
                        skills.keys().cloned().collect::<Vec<_>>().join(", ")
                    ),
                });
            }
        };
        Ok(Skills { skills, default })
    }

    pub fn get(&self, name: &str) -> Option<&Skill> {
        self.skills.get(name)
    }

    /// The system prompt of a skill; an unknown one (removed since a
    /// session chose it) falls back to the default skill's.
    pub fn system_prompt(&self, name: &str) -> String {
        self.get(name)
            .or_else(|| self.get(self.default_name()))
            .map(|s| s.system_prompt.clone())
            .unwrap_or_default()
    }

    pub fn default_name(&self) -> &str {
        &self.default
    }

    pub fn iter(&self) -> impl Iterator<Item = &Skill> {
        self.skills.values()
    }
}

#[derive(Debug, Deserialize)]
struct FrontMatter {
    name: Option<String>,
    description: Option<String>,
    display_name: Option<String>,
}

fn folder_skills(dir: &Path) -> Vec<Skill> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut paths: Vec<_> = entries
        .filter_map(|e| e.ok())
        .map(|e| e.path().join("SKILL.md"))
        .filter(|p| p.is_file())
        .collect();
    paths.sort();
    paths
        .into_iter()
        .filter_map(|path| match parse_skill_md(&path) {
            Ok(skill) => Some(skill),
            Err(why) => {
                tracing::warn!(path = %path.display(), "skipping skill: {why}");
                None
            }
        })
        .collect()
}

/// Reads one SKILL.md: `---` front matter, then the instructions.
pub fn parse_skill_md(path: &Path) -> Result<Skill, String> {
    let text = std::fs::read_to_string(path).map_err(|e| e.to_string())?;
    let rest = text
        .strip_prefix("---")
        .ok_or("it does not start with `---` front matter")?;
    let end = rest
        .find("\n---")
        .ok_or("its front matter has no closing `---`")?;
    let front: FrontMatter =
        serde_yaml_ng::from_str(&rest[..end]).map_err(|e| format!("bad front matter: {e}"))?;
    let body = rest[end + 4..].trim().to_string();
    let folder = path
        .parent()
        .and_then(|p| p.file_name())
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let name = front.name.unwrap_or(folder);
    crate::names::validate(&name).map_err(|rule| format!("bad name {name:?}: {rule}"))?;
    if body.is_empty() {
        return Err("it has no instructions after the front matter".into());
    }
    Ok(Skill {
        display_name: front.display_name.unwrap_or_else(|| name.clone()),
        name,
        description: front.description.unwrap_or_default(),
        system_prompt: body,
        source: path.display().to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Config, SkillConfig};

    #[test]
    fn builtin_folder_and_config_skills() {
        let dir = tempfile::tempdir().unwrap();
        let skill_dir = dir.path().join(".atmos/skills/terraform-review");
        std::fs::create_dir_all(&skill_dir).unwrap();
        std::fs::write(
            skill_dir.join("SKILL.md"),
            "---\nname: tf-review\ndescription: Reviews Terraform plans\n---\n\nReview the plan for drift.\n",
        )
        .unwrap();
        let broken = dir.path().join(".atmos/skills/broken");
        std::fs::create_dir_all(&broken).unwrap();
        std::fs::write(broken.join("SKILL.md"), "no front matter").unwrap();

        let mut config = Config::default();
        config.skills.insert(
            "security".into(),
            SkillConfig {
                display_name: Some("Security".into()),
                description: None,
                system_prompt: "Audit IAM.".into(),
            },
        );
        config.default_skill = Some("security".into());
        let skills = Skills::load(&Project::with_config(dir.path().into(), config)).unwrap();
        let names: Vec<_> = skills.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["general", "tf-review", "security"]);
        assert_eq!(skills.default_name(), "security");
        let tf = skills.get("tf-review").unwrap();
        assert_eq!(tf.system_prompt, "Review the plan for drift.");
        assert_eq!(tf.description, "Reviews Terraform plans");
    }
}
