//! The command line: every command and flag, with its help. No IO here.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    name = "atmos",
    version,
    about = "Atmos AI: persistent AI chat sessions for infrastructure engineers",
    propagate_version = true,
    after_help = "Examples:\n  atmos ai chat --session vpc-design\n  atmos ai ask --session vpc-design \"what about staging?\"\n  atmos ai sessions\n  atmos ai serve     # for editors"
)]
pub struct Cli {
    /// The atmos.yaml to use (a file, or a folder holding one). Default:
    /// $ATMOS_CLI_CONFIG_PATH, else the nearest atmos.yaml walking up from
    /// the working directory.
    #[arg(long, global = true, value_name = "PATH")]
    pub config: Option<PathBuf>,

    #[command(subcommand)]
    pub command: TopCommand,
}

#[derive(Debug, Subcommand)]
pub enum TopCommand {
    /// AI sessions, chat and the editor server
    Ai(AiArgs),
}

#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  atmos ai chat                          # the chat TUI, a new session\n  atmos ai ask --session vpc-design \"what are Atmos stacks?\"\n  atmos ai sessions clean --older-than 30d\n  atmos ai serve                         # JSON-RPC on stdio, for editors"
)]
pub struct AiArgs {
    #[command(subcommand)]
    pub command: AiCommand,
}

#[derive(Debug, Subcommand)]
pub enum AiCommand {
    /// Chat in the terminal (TUI); with standard input not a terminal, one message per line
    #[command(after_help = CHAT_EXAMPLES)]
    Chat(ChatArgs),
    /// List and manage chat sessions (default: list them)
    #[command(after_help = SESSIONS_EXAMPLES)]
    Sessions(SessionsArgs),
    /// Ask one question and stream the answer (with --session: remembered)
    #[command(after_help = ASK_EXAMPLES)]
    Ask(AskArgs),
    /// Run one prompt for scripts: prompt from the argument or stdin, reply as text, json or markdown
    #[command(after_help = EXEC_EXAMPLES)]
    Exec(ExecArgs),
    /// List the skills (system prompts) sessions can use
    #[command(after_help = "Example:\n  atmos ai skills\n  atmos ai skills --format json")]
    Skills(FormatArg),
    /// Serve the editor protocol (JSON-RPC over stdio) for VS Code, Neovim and scripts
    #[command(after_help = SERVE_EXAMPLES)]
    Serve(ServeArgs),
}

const CHAT_EXAMPLES: &str = "\
Examples:
  atmos ai chat                               # a new (anonymous) session, made on the first message
  atmos ai chat --session vpc-design          # created, or resumed with its whole transcript
  atmos ai chat -c                            # resume the most recently used session
  atmos ai chat --session review --provider ollama --model llama3.3 --skill general
  printf 'What are Atmos stacks?\\n' | atmos ai chat --session vpc-design   # scriptable

Keys: Enter sends, Ctrl+J new line, Ctrl+N new session, Ctrl+L sessions, Ctrl+A skill,
Ctrl+P provider and model, Ctrl+Y / Ctrl+O copy the last reply / code block, F2 frees the
mouse for selecting, Esc cancels a reply, Ctrl+C quits (a typed draft is kept first),
F1 or ? lists every key.";

/// `atmos ai chat`: which session, provider, model and skill to start with.
#[derive(Debug, Args)]
pub struct ChatArgs {
    #[command(flatten)]
    pub turn: TurnArgs,
    /// Resume the most recently used session
    #[arg(long = "continue", short = 'c', conflicts_with = "session")]
    pub continue_last: bool,
}

const SERVE_EXAMPLES: &str = "\
Example:
  atmos ai serve            (started by the editor; speaks LSP framing on stdin/stdout)

The protocol, with an example of every request, is in docs/protocol.md. Logs go to stderr
(RUST_LOG=info for more); stdout carries protocol messages only. The project is the
client's rootUri, else the nearest atmos.yaml walking up from the working directory.";

/// `atmos ai serve` takes no flags of its own (the global --config applies).
#[derive(Debug, Args)]
pub struct ServeArgs {}

const ASK_EXAMPLES: &str = "\
Examples:
  atmos ai ask What are Atmos stacks?
  atmos ai ask --session vpc-design can you show me an example for production?
  atmos ai ask --session vpc-design --provider ollama --model llama3.3 what about staging?

Without --session nothing is kept. With it, the session is created or resumed and
the model sees its history; --provider, --model and --skill switch the session.";

const EXEC_EXAMPLES: &str = "\
Examples:
  atmos ai exec 'List the stacks that import mixins/eks' --format json
  git diff | atmos ai exec --session review --output review.md --format markdown
Exit status: 0 on success, 1 on any error (the error on stderr).";

const SESSIONS_EXAMPLES: &str = "\
Examples:
  atmos ai sessions                          # list all sessions, newest first
  atmos ai sessions list --query vpc         # sessions whose name or messages mention vpc
  atmos ai sessions show vpc-design          # the whole transcript
  atmos ai sessions clean --older-than 30d   # delete sessions idle for 30 days
  atmos ai sessions export vpc-design --output vpc.json
  atmos ai sessions import vpc.json --name vpc-copy";

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct SessionsArgs {
    #[command(subcommand)]
    pub command: Option<SessionsCommand>,
    #[command(flatten)]
    pub list: ListArgs,
}

#[derive(Debug, Subcommand)]
pub enum SessionsCommand {
    /// List sessions with their metadata, most recently used first
    #[command(
        after_help = "Examples:\n  atmos ai sessions list\n  atmos ai sessions list --provider anthropic --format json"
    )]
    List(ListArgs),
    /// Create a session (without chatting yet)
    #[command(
        after_help = "Examples:\n  atmos ai sessions create vpc-design\n  atmos ai sessions create review --provider ollama --skill general"
    )]
    Create(CreateArgs),
    /// Show a session's whole transcript, archived messages and summaries included
    #[command(after_help = "Example:\n  atmos ai sessions show vpc-design")]
    Show(ShowArgs),
    /// Delete sessions whose last activity is older than a duration
    #[command(
        after_help = "Units: h (hours), d (days), w (weeks), m (months of 30 days).\n\nExamples:\n  atmos ai sessions clean --older-than 30d\n  atmos ai sessions clean --older-than 2w --dry-run\n  atmos ai sessions clean --older-than 0d     # delete every session"
    )]
    Clean(CleanArgs),
    /// Delete one session and all its history (permanent)
    #[command(after_help = "Example:\n  atmos ai sessions delete vpc-design --yes")]
    Delete(DeleteArgs),
    /// Rename a session
    #[command(after_help = "Example:\n  atmos ai sessions rename vpc-design vpc-design-2026")]
    Rename(RenameArgs),
    /// Copy a session's history up to one message into a new session, to try another way
    #[command(
        after_help = "The fork keeps the provider, model, skill and metadata, and remembers where it came from;
summaries and archived messages come along. Message ids: `atmos ai sessions show NAME --ids`.

Examples:
  atmos ai sessions fork vpc-design                       # at its newest message, as vpc-design-fork
  atmos ai sessions fork vpc-design --at 42 --name vpc-ipv6"
    )]
    Fork(ForkArgs),
    /// Undo a compaction: the messages a summary replaced are sent again (the summary is kept, archived)
    #[command(
        after_help = "Without --summary, the live summary. See which messages each summary replaced with
`atmos ai sessions show NAME --compacted`.

Examples:
  atmos ai sessions uncompact vpc-design
  atmos ai sessions uncompact vpc-design --summary 57"
    )]
    Uncompact(UncompactArgs),
    /// Pin a message: never compacted, always sent to the model
    #[command(after_help = "Message ids: `atmos ai sessions show NAME --ids`.

Examples:
  atmos ai sessions pin vpc-design 42
  atmos ai sessions pin vpc-design 42 --unpin")]
    Pin(PinArgs),
    /// Show or set a session's title (shown next to its name)
    #[command(
        after_help = "A session gets a title from its first exchange (the first line of the
question, or an AI title when ai.sessions.auto_compact.use_ai_summary is on, in the
TUI and the editors). A title you set is never replaced; the name never changes.

Examples:
  atmos ai sessions title vpc-design
  atmos ai sessions title vpc-design \"Production VPC layout\"
  atmos ai sessions title vpc-design --clear"
    )]
    Title(TitleArgs),
    /// Copy the whole session database safely, even while chats and servers run
    #[command(
        after_help = "Uses SQLite's online backup, so the copy is consistent while other processes write
(a plain `cp` of sessions.db can miss what is still in sessions.db-wal). The copy is
readable by you only. Restore: stop atmos, then copy it over sessions.db.

Examples:
  atmos ai sessions backup                      # .atmos/sessions/sessions.db.backup
  atmos ai sessions backup ~/backups/atmos-$(date +%F).db"
    )]
    Backup(BackupArgs),
    /// Summarise the oldest messages of a session now (they are archived, not deleted)
    #[command(
        after_help = "Keeps the newest ai.sessions.auto_compact.preserve_recent messages verbatim.\n\nExample:\n  atmos ai sessions compact vpc-design"
    )]
    Compact(CompactArgs),
    /// Export a session (json and yaml are lossless; markdown is for reading)
    #[command(
        after_help = "Examples:\n  atmos ai sessions export vpc-design > vpc.json\n  atmos ai sessions export vpc-design --format markdown --output vpc.md"
    )]
    Export(ExportArgs),
    /// Import a session exported by atmos (json or yaml)
    #[command(
        after_help = "Examples:\n  atmos ai sessions import vpc.json\n  atmos ai sessions import vpc.yaml --name vpc-review"
    )]
    Import(ImportArgs),
    /// Check the session database and restore its permissions (folder 0700, file 0600)
    #[command(after_help = "Example:\n  atmos ai sessions doctor")]
    Doctor(FormatArg),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ListFormat {
    Table,
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TextFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ShowFormat {
    Text,
    Json,
    Markdown,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ExportFormat {
    Json,
    Yaml,
    Markdown,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ImportFormat {
    Json,
    Yaml,
}

#[derive(Debug, Args)]
pub struct ListArgs {
    /// Only sessions of this provider
    #[arg(long)]
    pub provider: Option<String>,
    /// Only sessions whose name or messages contain this text (any case)
    #[arg(long, short)]
    pub query: Option<String>,
    /// At most this many sessions
    #[arg(long)]
    pub limit: Option<u32>,
    /// Times in UTC instead of the local time zone (JSON is always UTC, RFC 3339)
    #[arg(long)]
    pub utc: bool,
    /// Output format
    #[arg(long, value_enum, default_value_t = ListFormat::Table)]
    pub format: ListFormat,
    /// Write to this file instead of standard output
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct FormatArg {
    /// Output format
    #[arg(long, value_enum, default_value_t = TextFormat::Text)]
    pub format: TextFormat,
    /// Write to this file instead of standard output
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

/// Which session, provider, model and skill a turn uses.
#[derive(Debug, Clone, Args)]
pub struct TurnArgs {
    /// Create or resume this session (needs ai.sessions.enabled)
    #[arg(long, short)]
    pub session: Option<String>,
    /// Provider (default: the session's, else ai.default_provider)
    #[arg(long)]
    pub provider: Option<String>,
    /// Model (default: the session's, else the provider's)
    #[arg(long, value_parser = model_name)]
    pub model: Option<String>,
    /// Skill (default: the session's, else ai.default_skill)
    #[arg(long)]
    pub skill: Option<String>,
}

#[derive(Debug, Args)]
pub struct AskArgs {
    #[command(flatten)]
    pub turn: TurnArgs,
    /// Wait for the whole reply instead of streaming it
    #[arg(long)]
    pub no_stream: bool,
    /// The question
    #[arg(required = true, num_args = 1..)]
    pub question: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ExecFormat {
    Text,
    Json,
    Markdown,
}

#[derive(Debug, Args)]
pub struct ExecArgs {
    #[command(flatten)]
    pub turn: TurnArgs,
    /// Output format
    #[arg(long, value_enum, default_value_t = ExecFormat::Text)]
    pub format: ExecFormat,
    /// Write to this file instead of standard output
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// The prompt (default: read from standard input)
    pub prompt: Option<String>,
}

#[derive(Debug, Args)]
pub struct CreateArgs {
    /// The session's name (default: an anonymous name like chat-20261124-034943)
    pub name: Option<String>,
    /// The provider (default: ai.default_provider)
    #[arg(long)]
    pub provider: Option<String>,
    /// The model (default: the provider's)
    #[arg(long, value_parser = model_name)]
    pub model: Option<String>,
    /// The skill (default: ai.default_skill, else general)
    #[arg(long)]
    pub skill: Option<String>,
    /// Output format
    #[arg(long, value_enum, default_value_t = TextFormat::Text)]
    pub format: TextFormat,
}

#[derive(Debug, Args)]
pub struct ShowArgs {
    /// The session's name
    pub name: String,
    /// Times in UTC instead of the local time zone (JSON is always UTC, RFC 3339)
    #[arg(long)]
    pub utc: bool,
    /// Show each message's id (for `sessions fork --at`)
    #[arg(long)]
    pub ids: bool,
    /// Only the summaries, each with the messages it replaced (for `sessions uncompact`)
    #[arg(long)]
    pub compacted: bool,
    /// Output format
    #[arg(long, value_enum, default_value_t = ShowFormat::Text)]
    pub format: ShowFormat,
    /// Write to this file instead of standard output
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct CleanArgs {
    /// Delete sessions idle for longer than this: a whole number and h, d, w or m (30 days)
    #[arg(long, value_name = "AGE", allow_hyphen_values = true)]
    pub older_than: String,
    /// Only list what would be deleted
    #[arg(long)]
    pub dry_run: bool,
    /// Do not ask for confirmation on a terminal
    #[arg(long, short)]
    pub yes: bool,
    /// Output format
    #[arg(long, value_enum, default_value_t = TextFormat::Text)]
    pub format: TextFormat,
    /// Write to this file instead of standard output
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct DeleteArgs {
    /// The session's name
    pub name: String,
    /// Do not ask for confirmation (needed when standard input is not a terminal)
    #[arg(long, short)]
    pub yes: bool,
}

#[derive(Debug, Args)]
pub struct RenameArgs {
    /// The session's current name
    pub old: String,
    /// Its new name (letters, digits, '.', '_', '-', inner spaces; at most 128)
    pub new: String,
}

#[derive(Debug, Args)]
pub struct UncompactArgs {
    /// The session
    pub name: String,
    /// The id of the summary to undo (default: the live one)
    #[arg(long, value_name = "SUMMARY_ID")]
    pub summary: Option<i64>,
}

#[derive(Debug, Args)]
pub struct PinArgs {
    /// The session
    pub name: String,
    /// The id of the message (`atmos ai sessions show NAME --ids`)
    pub message_id: i64,
    /// Unpin it instead (a later compaction may then summarise it)
    #[arg(long)]
    pub unpin: bool,
}

#[derive(Debug, Args)]
pub struct TitleArgs {
    /// The session
    pub name: String,
    /// The new title (left out: print the current one)
    pub title: Option<String>,
    /// Remove the title (none is made for the session again)
    #[arg(long, conflicts_with = "title")]
    pub clear: bool,
}

#[derive(Debug, Args)]
pub struct BackupArgs {
    /// Where to write the copy (default: sessions.db.backup beside the database)
    pub file: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ForkArgs {
    /// The session to fork
    pub name: String,
    /// The id of the message to fork at, it included (default: the newest)
    #[arg(long, value_name = "MESSAGE_ID")]
    pub at: Option<i64>,
    /// The fork's name (default: NAME-fork, then NAME-fork-2, …)
    #[arg(long = "name", value_name = "NEW")]
    pub name_of_fork: Option<String>,
    /// Output format
    #[arg(long, value_enum, default_value_t = TextFormat::Text)]
    pub format: TextFormat,
}

#[derive(Debug, Args)]
pub struct CompactArgs {
    /// The session's name
    pub name: String,
    /// Output format
    #[arg(long, value_enum, default_value_t = TextFormat::Text)]
    pub format: TextFormat,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// The session's name
    pub name: String,
    /// Format (default: from the --output extension, else json)
    #[arg(long, value_enum)]
    pub format: Option<ExportFormat>,
    /// Write to this file instead of standard output
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The exported file (`-` for standard input)
    pub file: PathBuf,
    /// Import under this name instead of the one in the file
    #[arg(long)]
    pub name: Option<String>,
    /// Format (default: detected)
    #[arg(long, value_enum)]
    pub format: Option<ImportFormat>,
    /// Output format of the report
    #[arg(long = "report-format", value_enum, default_value_t = TextFormat::Text)]
    pub report: TextFormat,
    /// Write the report to this file instead of standard output
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

/// `--model`: a name, never empty (leaving the flag out means the default).
fn model_name(s: &str) -> Result<String, String> {
    if s.trim().is_empty() {
        return Err("a model name cannot be empty: leave --model out for the default".into());
    }
    Ok(s.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn bare_sessions_lists() {
        let cli = Cli::try_parse_from(["atmos", "ai", "sessions", "--format", "json"]).unwrap();
        let TopCommand::Ai(ai) = cli.command;
        let AiCommand::Sessions(s) = ai.command else {
            panic!()
        };
        assert!(s.command.is_none());
        assert_eq!(s.list.format, ListFormat::Json);
    }
}
