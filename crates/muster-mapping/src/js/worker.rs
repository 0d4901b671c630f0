//! One QuickJS runtime per thread, created on first use, with the time limit (an interrupt
//! handler that checks a deadline) and the memory limit. In it, each script has a context (a
//! global object and built-ins) of its own, so no script sees what another one declared; the
//! built-ins are frozen and the global object is put back after every run (`sandbox.js`), so
//! every run of a script starts from the same global state, whatever ran before on that
//! thread. A context whose global object cannot be put back is replaced; a runtime that hit a
//! limit is thrown away and the next evaluation on that thread starts a fresh one.

use super::convert;
use super::engine;
use super::failure::Failure;
use super::memory::{Budget, Limited};
use super::person;
use super::Script;
use crate::field_type::FieldType;
use muster_core::model::Person;
use rquickjs::{Array, Context, Ctx, Function, Object, Persistent, Runtime, Value};
use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::Rc;
use std::time::Instant;

const PRELUDE: &str = include_str!("prelude.js");
/// Freezes the built-ins and makes the `reset` that puts the global object back after a run.
const SANDBOX: &str = include_str!("sandbox.js");
/// Native stack QuickJS may use; deep recursion fails with a RangeError well before the
/// thread's own stack (2 MiB for Rust threads) runs out.
const MAX_STACK: usize = 256 * 1024;
/// Contexts of scripts (of configurations long gone) are dropped past this many.
const MAX_CONTEXTS: usize = 64;

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
    with_worker(|w| w.compiler.with(|ctx| engine::compile(&ctx, source)))
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

/// Field order is drop order: contexts go before the runtime.
struct Worker {
    contexts: HashMap<u64, ScriptContext>,
    /// Compiles scripts; never runs one.
    compiler: Context,
    runtime: Runtime,
    deadline: Rc<Cell<Option<Instant>>>,
    interrupted: Rc<Cell<bool>>,
    budget: Budget,
}

/// One script's context: its loaded bytecode, the `Person` factories, the baseline of its
/// global object and the functions of `sandbox.js` that put it back. Field order is drop
/// order: values before the context that holds them (the baseline is freed by `drop`).
struct ScriptContext {
    function: Persistent<Value<'static>>,
    factories: person::Factories,
    sandbox: Sandbox,
    baseline: engine::Baseline,
    context: Context,
}

/// The functions `sandbox.js` evaluates to.
struct Sandbox {
    begin: Persistent<Function<'static>>,
    reset: Persistent<Function<'static>>,
    restore_baseline: Persistent<Function<'static>>,
    remove_added: Persistent<Function<'static>>,
}

impl Drop for ScriptContext {
    fn drop(&mut self) {
        self.context.with(|ctx| self.baseline.free(&ctx));
    }
}

impl ScriptContext {
    /// A fresh context: the prelude, the factories, frozen built-ins, then the script.
    fn new(runtime: &Runtime, script: &Script) -> Result<Self, Failure> {
        // No `std`/`os` modules, no loader: the global object holds only the language's own
        // built-ins (and the prelude), so a script cannot reach files, network or processes.
        let context = Context::full(runtime).map_err(engine_error)?;
        let (function, factories, sandbox, baseline) =
            context.with(|ctx| -> Result<_, Failure> {
                let mut options = rquickjs::context::EvalOptions::default();
                options.strict = false;
                ctx.eval_with_options::<(), _>(PRELUDE, options)
                    .map_err(|e| js_error(&ctx, e))?;
                let factories = person::Factories::new(&ctx).map_err(|e| js_error(&ctx, e))?;
                let sandbox: Object = ctx.eval(SANDBOX).map_err(|e| js_error(&ctx, e))?;
                let part = |name: &str| -> Result<Persistent<Function<'static>>, Failure> {
                    let f: Function = sandbox.get(name).map_err(|e| js_error(&ctx, e))?;
                    Ok(Persistent::save(&ctx, f))
                };
                let parts = Sandbox {
                    begin: part("begin")?,
                    reset: part("reset")?,
                    restore_baseline: part("restoreBaseline")?,
                    remove_added: part("removeAdded")?,
                };
                let checked: Array = sandbox.get("checked").map_err(|e| js_error(&ctx, e))?;
                let baseline = engine::Baseline::record(&ctx, &checked)?;
                let function = match engine::load(&ctx, &script.bytecode) {
                    Ok(f) => f,
                    Err(e) => {
                        let mut baseline = baseline;
                        baseline.free(&ctx);
                        return Err(e);
                    }
                };
                Ok((Persistent::save(&ctx, function), factories, parts, baseline))
            })?;
        Ok(Self {
            function,
            factories,
            sandbox,
            baseline,
            context,
        })
    }

    /// Runs the script once and puts the global object back. `Ok(false)` inside: the context
    /// could not be put back and must not run again.
    fn run(
        &self,
        person: &Person,
        iteration: u32,
        ty: FieldType,
    ) -> (Result<Option<serde_json::Value>, Failure>, bool) {
        self.context.with(|ctx| {
            let out = (|| {
                let function = self.function.clone().restore(&ctx).map_err(engine_error)?;
                let p =
                    person::person(&ctx, &self.factories, person).map_err(|e| js_error(&ctx, e))?;
                let begin = self
                    .sandbox
                    .begin
                    .clone()
                    .restore(&ctx)
                    .map_err(engine_error)?;
                begin
                    .call::<_, ()>((p, iteration))
                    .map_err(|e| js_error(&ctx, e))?;
                convert::result(engine::run(&ctx, &function)?, ty)
            })();
            let clean = self.reset(&ctx).unwrap_or(false);
            (out, clean)
        })
    }

    /// Puts the global object back after a run (`sandbox.js`); false when it cannot be.
    fn reset(&self, ctx: &Ctx<'_>) -> rquickjs::Result<bool> {
        let call = |f: &Persistent<Function<'static>>| f.clone().restore(ctx)?.call::<_, Value>(());
        // The number of keys the global object has when the run added none, or -1.
        let Some(known) = call(&self.sandbox.reset)?
            .as_int()
            .and_then(|n| u32::try_from(n).ok())
        else {
            return Ok(false);
        };
        if !self.baseline.unchanged(ctx)
            && !call(&self.sandbox.restore_baseline)?
                .as_bool()
                .unwrap_or(false)
        {
            return Ok(false);
        }
        let count = engine::own_key_count(ctx, &ctx.globals().into_value());
        if count.is_ok_and(|n| n == known) {
            return Ok(true);
        }
        Ok(call(&self.sandbox.remove_added)?.as_bool().unwrap_or(false))
    }
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
        let compiler = Context::full(&runtime).map_err(engine_error)?;
        Ok(Self {
            contexts: HashMap::new(),
            compiler,
            runtime,
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
        if !self.contexts.contains_key(&script.id) {
            if self.contexts.len() >= MAX_CONTEXTS {
                self.contexts.clear();
            }
            let fresh = ScriptContext::new(&self.runtime, script)?;
            self.contexts.insert(script.id, fresh);
        }
        let context = self
            .contexts
            .get(&script.id)
            .ok_or_else(|| Failure::Engine("the script's context is missing".into()))?;
        // The limit is on what this run adds to the runtime (contexts of other scripts and
        // the built-ins are there already).
        self.budget
            .limit
            .set(self.budget.used.get().saturating_add(script.limits.memory));
        self.budget.refused.set(false);
        self.interrupted.set(false);
        self.deadline
            .set(Some(Instant::now() + script.limits.timeout));
        let (out, clean) = context.run(person, iteration, ty);
        self.deadline.set(None);
        // Between scripts the runtime may grow (new contexts) without a limit.
        self.budget.limit.set(0);
        if !clean {
            self.contexts.remove(&script.id);
        }
        match out {
            Err(_) if self.interrupted.get() => Err(Failure::Timeout(script.limits.timeout)),
            Err(_) if self.budget.refused.get() => Err(Failure::OutOfMemory(script.limits.memory)),
            other => other,
        }
    }
}
