//! `atmos ai chat`: the terminal chat (ratatui over crossterm).
//!
//! - `app.rs`: the state and `App::handle(Event) -> Vec<Effect>`, no IO;
//! - `keys.rs`: the keymap as data (the help overlay is generated from it);
//! - `driver.rs`: performs effects against the core; replies and summaries
//!   run in tokio tasks and report back through a channel;
//! - `widgets/`: drawing, a pure function of `&App`;
//! - `editor.rs`: Ctrl+G, the draft written in `$VISUAL`/`$EDITOR`;
//! - here: terminal setup and restore (on exit, panic and SIGTERM/SIGINT/
//!   SIGHUP) and the event loop, which selects over terminal input, the
//!   background channel, signals, a spinner tick and the live tick (what
//!   other processes change, `driver/live.rs`).

pub mod app;
pub mod driver;
mod editor;
pub mod keys;
pub mod widgets;

#[cfg(test)]
mod tests;

use crate::args::TurnArgs;
use crate::output::{Failure, Outcome};
use app::{App, Effect, Event};
use crossterm::event::{
    self as ct, DisableBracketedPaste, DisableMouseCapture, EnableBracketedPaste,
    EnableMouseCapture, EventStream, KeyboardEnhancementFlags, MouseEventKind,
    PopKeyboardEnhancementFlags, PushKeyboardEnhancementFlags,
};
use crossterm::terminal::{EnterAlternateScreen, LeaveAlternateScreen};
use driver::{Bg, Driver};
use futures::StreamExt;
use ratatui::Terminal;
use ratatui::backend::{Backend, CrosstermBackend};
use std::collections::VecDeque;
use std::io::Stdout;
use std::path::PathBuf;
use std::time::Duration;
use tokio::sync::mpsc;

/// Runs the chat on the terminal until the user quits.
pub fn run(config: Option<PathBuf>, args: TurnArgs) -> Outcome {
    let project = crate::commands::load_project(config)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| Failure::Message(format!("cannot start the async runtime: {e}")))?;
    let _entered = runtime.enter();
    let (tx, rx) = mpsc::unbounded_channel();
    let mut driver = Driver::open(project, tx)?;
    driver.on_terminal = true;
    // Bad flags (unknown provider or skill) fail here, before the screen changes.
    let (init, loaded) = driver.start(&args)?;
    let mut app = App::new(init);
    if let Some(l) = loaded {
        app.handle(Event::Loaded(l));
    }
    // Restored on every way out, a failed setup included.
    let _restore = Restore;
    let mut terminal =
        setup().map_err(|e| Failure::Message(format!("cannot set up the terminal: {e}")))?;
    if let Ok(size) = terminal.size() {
        app.handle(Event::Resize(size.width, size.height));
    }
    let result = runtime.block_on(event_loop(&mut terminal, &mut app, &mut driver, rx));
    drop(_restore);
    result.map_err(|e| Failure::Message(format!("terminal error: {e}")))
}

/// Feeds events to the app and performs its effects until none are left.
/// True when the app asked to quit.
pub fn dispatch(app: &mut App, driver: &mut Driver, events: Vec<Event>) -> bool {
    let mut queue: VecDeque<Event> = events.into();
    while let Some(event) = queue.pop_front() {
        for effect in app.handle(event) {
            if effect == Effect::Quit {
                return true;
            }
            queue.extend(driver.perform(effect));
        }
    }
    false
}

/// A terminal event as the app's, if it is one the app cares about.
pub fn translate(ev: ct::Event) -> Option<Event> {
    match ev {
        ct::Event::Key(k) => Some(Event::Key(k)),
        ct::Event::Paste(text) => Some(Event::Paste(text)),
        ct::Event::Resize(w, h) => Some(Event::Resize(w, h)),
        ct::Event::Mouse(m) => match m.kind {
            MouseEventKind::ScrollUp => Some(Event::Scroll(-1)),
            MouseEventKind::ScrollDown => Some(Event::Scroll(1)),
            _ => None,
        },
        _ => None,
    }
}

async fn event_loop<B: Backend>(
    terminal: &mut Terminal<B>,
    app: &mut App,
    driver: &mut Driver,
    mut rx: mpsc::UnboundedReceiver<Bg>,
) -> std::io::Result<()>
where
    std::io::Error: From<B::Error>,
{
    use tokio::signal::unix::{SignalKind, signal};
    let mut input = EventStream::new();
    let mut tick = tokio::time::interval(Duration::from_millis(100));
    // What other processes change in the session shown (and the list).
    let mut live = tokio::time::interval(atmos_ai::watch::POLL_INTERVAL);
    live.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    let mut hup = signal(SignalKind::hangup())?;
    loop {
        terminal.draw(|f| widgets::draw(f, app))?;
        let events = tokio::select! {
            ev = input.next() => match ev {
                Some(Ok(ev)) => translate(ev).into_iter().collect(),
                Some(Err(e)) => return Err(e),
                None => vec![Event::Terminate],
            },
            Some(bg) = rx.recv() => {
                let mut events = driver.background(bg);
                // Take whatever else arrived (a burst of deltas) before drawing.
                while let Ok(bg) = rx.try_recv() {
                    events.extend(driver.background(bg));
                }
                events
            }
            _ = tick.tick(), if app.animating() => vec![Event::Tick],
            _ = live.tick() => {
                let events = driver.live(app.followed());
                if events.is_empty() {
                    continue;
                }
                events
            }
            _ = term.recv() => vec![Event::Terminate],
            _ = int.recv() => vec![Event::Terminate],
            _ = hup.recv() => vec![Event::Terminate],
        };
        if dispatch(app, driver, events) {
            return Ok(());
        }
        // Ctrl+G: the editor gets the terminal. Input is not read meanwhile
        // (the stream is dropped, which stops crossterm's reader), and the
        // screen is set up again afterwards.
        if let Some(draft) = driver.take_compose() {
            drop(input);
            restore();
            let composed = editor::edit(&draft);
            enter(app.mouse_released)?;
            // Redraw every cell: a blank frame first, so that the next one
            // differs everywhere (`Terminal::clear` would ask the terminal
            // for the cursor position, which needs the input stream).
            crossterm::execute!(
                std::io::stdout(),
                crossterm::terminal::Clear(crossterm::terminal::ClearType::All)
            )?;
            terminal.draw(|_| {})?;
            input = EventStream::new();
            if dispatch(app, driver, vec![Event::Composed(composed)]) {
                return Ok(());
            }
        }
    }
}

fn setup() -> std::io::Result<Terminal<CrosstermBackend<Stdout>>> {
    install_panic_hook();
    enter(false)?;
    Terminal::new(CrosstermBackend::new(std::io::stdout()))
}

/// Raw mode, the alternate screen, bracketed paste and (unless the user
/// released it with F2) the mouse.
fn enter(mouse_released: bool) -> std::io::Result<()> {
    crossterm::terminal::enable_raw_mode()?;
    let mut out = std::io::stdout();
    crossterm::execute!(out, EnterAlternateScreen, EnableBracketedPaste)?;
    if !mouse_released {
        crossterm::execute!(out, EnableMouseCapture)?;
    }
    // Shift+Enter and other modified keys, where the terminal speaks the
    // kitty keyboard protocol; others ignore the request.
    let _ = crossterm::execute!(
        out,
        PushKeyboardEnhancementFlags(KeyboardEnhancementFlags::DISAMBIGUATE_ESCAPE_CODES)
    );
    Ok(())
}

/// Puts the terminal back as it was. Safe to call more than once.
pub fn restore() {
    let mut out = std::io::stdout();
    let _ = crossterm::execute!(out, PopKeyboardEnhancementFlags);
    let _ = crossterm::execute!(
        out,
        DisableBracketedPaste,
        DisableMouseCapture,
        LeaveAlternateScreen,
        crossterm::cursor::Show
    );
    let _ = crossterm::terminal::disable_raw_mode();
}

/// Restores the terminal when dropped (normal exit and unwinding).
struct Restore;

impl Drop for Restore {
    fn drop(&mut self) {
        restore();
    }
}

/// Restores the terminal before the panic message is printed, so that it
/// is readable.
fn install_panic_hook() {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        restore();
        previous(info);
    }));
}
