//! The few QuickJS calls rquickjs does not wrap for scripts (it does for modules): compile a
//! script to bytecode once, load that bytecode into a worker's runtime, and run it again and
//! again; and the two checks of the global object after every run that are too slow in
//! JavaScript ([`Baseline`], [`own_key_count`]). Every `unsafe` block of the crate is in this
//! file.

use super::failure::Failure;
use rquickjs::{qjs, Array, Ctx, Value};
use std::ffi::CString;
use std::mem::MaybeUninit;

/// The file name scripts are compiled under; stack traces read `(mapping:LINE:COLUMN)`.
pub(crate) const FILE_NAME: &str = "mapping";

/// Compiles global code to bytecode without running it. Syntax errors come back as a
/// [`Failure::Threw`] with the line.
pub(crate) fn compile(ctx: &Ctx<'_>, source: &str) -> Result<Vec<u8>, Failure> {
    let text = CString::new(source)
        .map_err(|_| Failure::Engine("the script contains a NUL character".into()))?;
    let name = CString::new(FILE_NAME).map_err(|e| Failure::Engine(e.to_string()))?;
    let raw = ctx.as_raw().as_ptr();
    let flags = (qjs::JS_EVAL_TYPE_GLOBAL | qjs::JS_EVAL_FLAG_COMPILE_ONLY) as i32;
    // SAFETY: `raw` is the live context of `ctx`; `text` and `name` are NUL-terminated and
    // outlive the call; `source.len()` is the length of `text` without its NUL.
    let function =
        unsafe { qjs::JS_Eval(raw, text.as_ptr(), source.len() as _, name.as_ptr(), flags) };
    // SAFETY: `function` was just returned by `JS_Eval` on this context.
    if unsafe { qjs::JS_IsException(function) } {
        return Err(Failure::from_exception(ctx));
    }
    let mut size: qjs::size_t = 0;
    // SAFETY: `function` is an owned, valid value of this context; it is freed exactly once,
    // after the write. The buffer from `JS_WriteObject` is copied and then freed with the
    // context's allocator, as QuickJS requires.
    unsafe {
        let buffer =
            qjs::JS_WriteObject(raw, &mut size, function, qjs::JS_WRITE_OBJ_BYTECODE as i32);
        qjs::JS_FreeValue(raw, function);
        if buffer.is_null() {
            return Err(Failure::from_exception(ctx));
        }
        let bytes = std::slice::from_raw_parts(buffer, size as usize).to_vec();
        qjs::js_free(raw, buffer.cast());
        Ok(bytes)
    }
}

/// Loads bytecode made by [`compile`] (in any runtime) into this context.
pub(crate) fn load<'js>(ctx: &Ctx<'js>, bytecode: &[u8]) -> Result<Value<'js>, Failure> {
    let raw = ctx.as_raw().as_ptr();
    // SAFETY: the bytes come from `compile` of this crate (never from outside), which is what
    // `JS_ReadObject` with `JS_READ_OBJ_BYTECODE` requires; the returned value is owned and
    // handed to `Value`, which frees it once.
    unsafe {
        let function = qjs::JS_ReadObject(
            raw,
            bytecode.as_ptr(),
            bytecode.len() as _,
            qjs::JS_READ_OBJ_BYTECODE as i32,
        );
        if qjs::JS_IsException(function) {
            return Err(Failure::from_exception(ctx));
        }
        Ok(Value::from_raw(ctx.clone(), function))
    }
}

/// Runs loaded bytecode once; its completion value (the value of the last expression
/// statement) is the result.
pub(crate) fn run<'js>(ctx: &Ctx<'js>, function: &Value<'js>) -> Result<Value<'js>, Failure> {
    let raw = ctx.as_raw().as_ptr();
    // SAFETY: `JS_EvalFunction` takes ownership of its argument, so it gets a duplicate and
    // `function` stays valid for the next run. The result is owned and handed to `Value`.
    unsafe {
        let owned = qjs::JS_DupValue(raw, function.as_raw());
        let result = qjs::JS_EvalFunction(raw, owned);
        if qjs::JS_IsException(result) {
            return Err(Failure::from_exception(ctx));
        }
        Ok(Value::from_raw(ctx.clone(), result))
    }
}

/// How many own keys (strings and symbols) `object` has: what `Reflect.ownKeys(o).length`
/// answers, without making the array of keys (a tenth of the cost for the global object).
pub(crate) fn own_key_count(ctx: &Ctx<'_>, object: &Value<'_>) -> Result<u32, Failure> {
    let raw = ctx.as_raw().as_ptr();
    let mut table: *mut qjs::JSPropertyEnum = std::ptr::null_mut();
    let mut count: u32 = 0;
    let flags = (qjs::JS_GPN_STRING_MASK | qjs::JS_GPN_SYMBOL_MASK) as i32;
    // SAFETY: `object` is a live value of this context (borrowed, not consumed by the call);
    // on success `table` holds `count` entries allocated by QuickJS, freed exactly once here
    // with `JS_FreePropertyEnum`, as its documentation requires; on failure nothing is
    // allocated.
    unsafe {
        if qjs::JS_GetOwnPropertyNames(raw, &mut table, &mut count, object.as_raw(), flags) < 0 {
            return Err(Failure::from_exception(ctx));
        }
        qjs::JS_FreePropertyEnum(raw, table, count);
    }
    Ok(count)
}

/// Some own properties of the global object as every run must find them: each key with its
/// attributes and its value (or getter and setter). [`Baseline::unchanged`] compares them
/// after a run without calling any getter (so no script code runs), three times as fast as
/// the same comparison in JavaScript. Holds atoms and values of its context:
/// [`Baseline::free`] must be called on that context before it goes.
pub(crate) struct Baseline {
    entries: Vec<Entry>,
}

struct Entry {
    /// Owned (freed by `free`), as are the three values.
    atom: qjs::JSAtom,
    /// `JS_PROP_C_W_E` and `JS_PROP_GETSET` bits.
    flags: i32,
    value: qjs::JSValue,
    getter: qjs::JSValue,
    setter: qjs::JSValue,
}

/// One own property of `object`: `Ok(None)` when there is none. The descriptor's values are
/// owned by the caller.
///
/// # Safety
/// `raw` must be the live context that `object` and `atom` belong to.
unsafe fn own_property(
    raw: *mut qjs::JSContext,
    object: qjs::JSValue,
    atom: qjs::JSAtom,
) -> Result<Option<qjs::JSPropertyDescriptor>, ()> {
    let mut d = MaybeUninit::<qjs::JSPropertyDescriptor>::uninit();
    // SAFETY: per this function's contract; `JS_GetOwnProperty` fills every field of `d`
    // when it answers 1 and none otherwise.
    unsafe {
        match qjs::JS_GetOwnProperty(raw, d.as_mut_ptr(), object, atom) {
            1 => Ok(Some(d.assume_init())),
            0 => Ok(None),
            _ => {
                // Only an engine failure (out of memory) gets here; the exception is dropped.
                qjs::JS_FreeValue(raw, qjs::JS_GetException(raw));
                Err(())
            }
        }
    }
}

/// SameValue, with the common case (the same object) answered without a call into QuickJS.
///
/// # Safety
/// `raw` must be the live context both values belong to.
unsafe fn same_value(raw: *mut qjs::JSContext, a: qjs::JSValue, b: qjs::JSValue) -> bool {
    // SAFETY: per this function's contract; reading the tag and pointer of a value is what
    // QuickJS's own macros do; a pointer shared by two reference-counted values of one tag is
    // one object (or string, symbol, …), so the same value.
    unsafe {
        (qjs::JS_VALUE_GET_TAG(a) == qjs::JS_VALUE_GET_TAG(b)
            && qjs::JS_VALUE_HAS_REF_COUNT(a)
            && qjs::JS_VALUE_GET_PTR(a) == qjs::JS_VALUE_GET_PTR(b))
            || qjs::JS_IsSameValue(raw, a, b)
    }
}

impl Baseline {
    /// Records the global object's own properties named by `keys` (strings or symbols) as they
    /// are now.
    pub(crate) fn record<'js>(ctx: &Ctx<'js>, keys: &Array<'js>) -> Result<Self, Failure> {
        let raw = ctx.as_raw().as_ptr();
        let global = ctx.globals().into_value();
        let mut baseline = Self {
            entries: Vec::with_capacity(keys.len()),
        };
        for key in keys.iter::<Value>() {
            let key = match key {
                Ok(k) => k,
                Err(e) => {
                    baseline.free(ctx);
                    return Err(Failure::Engine(e.to_string()));
                }
            };
            // SAFETY: `key` and `global` are live values of this context; the atom and the
            // descriptor's values are owned here and go to `entries`, which `free` releases
            // (or are released right away when the key is missing).
            let entry = unsafe {
                let atom = qjs::JS_ValueToAtom(raw, key.as_raw());
                if atom == qjs::JS_ATOM_NULL {
                    None
                } else {
                    match own_property(raw, global.as_raw(), atom) {
                        Ok(Some(d)) => Some(Entry {
                            atom,
                            flags: d.flags,
                            value: d.value,
                            getter: d.getter,
                            setter: d.setter,
                        }),
                        _ => {
                            qjs::JS_FreeAtom(raw, atom);
                            None
                        }
                    }
                }
            };
            match entry {
                Some(e) => baseline.entries.push(e),
                None => {
                    baseline.free(ctx);
                    return Err(Failure::Engine(
                        "a global of the baseline is missing".into(),
                    ));
                }
            }
        }
        Ok(baseline)
    }

    /// Whether every recorded property is still there, with the same attributes and the same
    /// value (or getter and setter).
    pub(crate) fn unchanged(&self, ctx: &Ctx<'_>) -> bool {
        let raw = ctx.as_raw().as_ptr();
        let global = ctx.globals().into_value();
        self.entries.iter().all(|e| {
            // SAFETY: `global` is a live value and `e.atom` an owned atom of this context (the
            // one `record` ran on); the descriptor's values are owned here and freed before
            // the closure returns; the recorded values are only borrowed.
            unsafe {
                let Ok(Some(d)) = own_property(raw, global.as_raw(), e.atom) else {
                    return false;
                };
                let accessor = d.flags & qjs::JS_PROP_GETSET as i32 != 0;
                let same = d.flags == e.flags
                    && same_value(raw, d.value, e.value)
                    && (!accessor
                        || (same_value(raw, d.getter, e.getter)
                            && same_value(raw, d.setter, e.setter)));
                qjs::JS_FreeValue(raw, d.value);
                if accessor {
                    qjs::JS_FreeValue(raw, d.getter);
                    qjs::JS_FreeValue(raw, d.setter);
                }
                same
            }
        })
    }

    /// Releases the atoms and values; `ctx` must be the context `record` ran on.
    pub(crate) fn free(&mut self, ctx: &Ctx<'_>) {
        let raw = ctx.as_raw().as_ptr();
        for e in self.entries.drain(..) {
            // SAFETY: each atom and value is owned by the entry (see `record`) and freed once,
            // on its own context.
            unsafe {
                qjs::JS_FreeAtom(raw, e.atom);
                qjs::JS_FreeValue(raw, e.value);
                qjs::JS_FreeValue(raw, e.getter);
                qjs::JS_FreeValue(raw, e.setter);
            }
        }
    }
}
