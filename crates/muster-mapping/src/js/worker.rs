//! One QuickJS runtime per thread, created on first use: the scripts it has loaded, the time
//! limit (an interrupt handler that checks a deadline) and the memory limit. A runtime that
//! hit a limit is thrown away and the next evaluation on that thread starts a fresh one, so
//! nothing a runaway script left behind can affect the next person.

use super::convert;
use super::engine;
use super::failure::Failure;
use super::memory::{Budget, Limited};
use super::person;
use super::Script;
use crate::field_type::FieldType;
use muster_core::model::Person;
use rquickjs::{Context, Ctx, Persistent, Runtime, Value};
use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::Rc;
use std::time::Instant;

const PRELUDE: &str = include_str!("prelude.js");
/// Globals the prelude defines, put back after every script.
const BUILTINS: [&str; 1] = ["deleteDiacriticalMarks"];
/// Native stack QuickJS may use; deep recursion fails with a RangeError well before the
/// thread's own stack (2 MiB for Rust threads) runs out.
const MAX_STACK: usize = 256 * 1024;
/// Loaded scripts of configurations long gone are dropped past this many.
const MAX_LOADED: usize = 512;

thread_local! {
    static WORKER: RefCell<Option<Worker>> = const { RefCell::new(None) };
}

/// Runs `script` for `person` on this thread's runtime.
pub(crate) fn run(
    script: &Script,
    person: &Person,
    iteration: u32,
    ty: FieldType,
) -> Result<Option<serde_json::Value>, Failure> {
    with_worker(|w| w.run(script, person, iteration, ty))
}

/// Compiles `source` (already wrapped) to bytecode on this thread's runtime.
pub(crate) fn compile(source: &str) -> Result<Vec<u8>, Failure> {
    with_worker(|w| w.context.with(|ctx| engine::compile(&ctx, source)))
}

fn with_worker<T>(f: impl FnOnce(&mut Worker) -> Result<T, Failure>) -> Result<T, Failure> {
    WORKER.with(|cell| {
        let mut slot = cell
            .try_borrow_mut()
            .map_err(|_| Failure::Engine("a script was started from inside a script".into()))?;
        let worker = match slot.as_mut() {
            Some(w) => w,
            None => slot.insert(Worker::new()?),
        };
        let out = f(worker);
        if matches!(out, Err(Failure::Timeout(_) | Failure::OutOfMemory(_))) {
            *slot = None;
        }
        out
    })
}

/// Field order is drop order: values held for the runtime go before the context, which
/// holds the runtime (QuickJS aborts when a runtime is freed with live values).
struct Worker {
    loaded: HashMap<u64, Persistent<Value<'static>>>,
    builtins: Vec<(&'static str, Persistent<Value<'static>>)>,
    factories: person::Factories,
    context: Context,
    deadline: Rc<Cell<Option<Instant>>>,
    interrupted: Rc<Cell<bool>>,
    budget: Budget,
}

fn engine_error(e: impl std::fmt::Display) -> Failure {
    Failure::Engine(e.to_string())
}

/// An rquickjs error inside a script's run: a pending exception is the script's (or a
/// limit's) doing; anything else is the engine's.
fn js_error(ctx: &Ctx<'_>, e: rquickjs::Error) -> Failure {
    if matches!(e, rquickjs::Error::Exception) {
        Failure::from_exception(ctx)
    } else {
        Failure::Engine(e.to_string())
    }
}

impl Worker {
    fn new() -> Result<Self, Failure> {
        let budget = Budget::default();
        let runtime =
            Runtime::new_with_alloc(Limited::new(budget.clone())).map_err(engine_error)?;
        runtime.set_max_stack_size(MAX_STACK);
        let deadline: Rc<Cell<Option<Instant>>> = Rc::new(Cell::new(None));
        let interrupted = Rc::new(Cell::new(false));
        let (d, i) = (deadline.clone(), interrupted.clone());
        // QuickJS calls this every few thousand operations; past the deadline it stops the
        // script with an exception the script cannot catch.
        runtime.set_interrupt_handler(Some(Box::new(move || {
            let stop = d.get().is_some_and(|at| Instant::now() >= at);
            if stop {
                i.set(true);
            }
            stop
        })));
        // No `std`/`os` modules, no loader: the global object holds only the language's own
        // built-ins (and the prelude), so a script cannot reach files, network or processes.
        let context = Context::full(&runtime).map_err(engine_error)?;
        let (builtins, factories) = context.with(|ctx| -> Result<_, Failure> {
            let mut options = rquickjs::context::EvalOptions::default();
            options.strict = false;
            ctx.eval_with_options::<(), _>(PRELUDE, options)
                .map_err(|e| js_error(&ctx, e))?;
            let globals = ctx.globals();
            let builtins = BUILTINS
                .iter()
                .map(|name| {
                    let v: Value = globals.get(*name).map_err(|e| js_error(&ctx, e))?;
                    Ok((*name, Persistent::save(&ctx, v)))
                })
                .collect::<Result<Vec<_>, Failure>>()?;
            let factories = person::Factories::new(&ctx).map_err(|e| js_error(&ctx, e))?;
            Ok((builtins, factories))
        })?;
        Ok(Self {
            loaded: HashMap::new(),
            builtins,
            factories,
            context,
            deadline,
            interrupted,
            budget,
        })
    }

    fn run(
        &mut self,
        script: &Script,
        person: &Person,
        iteration: u32,
        ty: FieldType,
    ) -> Result<Option<serde_json::Value>, Failure> {
        self.budget.limit.set(script.limits.memory);
        self.budget.refused.set(false);
        if self.loaded.len() > MAX_LOADED && !self.loaded.contains_key(&script.id) {
            self.loaded.clear();
        }
        self.interrupted.set(false);
        self.deadline
            .set(Some(Instant::now() + script.limits.timeout));
        let Worker {
            loaded,
            builtins,
            factories,
            context,
            ..
        } = self;
        let out = context.with(|ctx| {
            let function = match loaded.get(&script.id) {
                Some(f) => f.clone().restore(&ctx).map_err(engine_error)?,
                None => {
                    let f = engine::load(&ctx, &script.bytecode)?;
                    loaded.insert(script.id, Persistent::save(&ctx, f.clone()));
                    f
                }
            };
            let globals = ctx.globals();
            let p = person::person(&ctx, factories, person).map_err(|e| js_error(&ctx, e))?;
            globals.set("Person", p).map_err(|e| js_error(&ctx, e))?;
            globals
                .set("Iteration", iteration)
                .map_err(|e| js_error(&ctx, e))?;
            let result = engine::run(&ctx, &function);
            for (name, value) in builtins.iter() {
                let v = value.clone().restore(&ctx).map_err(engine_error)?;
                globals.set(*name, v).map_err(|e| js_error(&ctx, e))?;
            }
            convert::result(result?, ty)
        });
        self.deadline.set(None);
        // Between scripts the runtime may grow (loading bytecode) without a limit.
        self.budget.limit.set(0);
        match out {
            Err(_) if self.interrupted.get() => Err(Failure::Timeout(script.limits.timeout)),
            Err(_) if self.budget.refused.get() => Err(Failure::OutOfMemory(script.limits.memory)),
            other => other,
        }
    }
}
