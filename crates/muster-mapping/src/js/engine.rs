//! The few QuickJS calls rquickjs does not wrap for scripts (it does for modules): compile a
//! script to bytecode once, load that bytecode into a worker's runtime, and run it again and
//! again. Every `unsafe` block of the crate is in this file.

use super::failure::Failure;
use rquickjs::{qjs, Ctx, Value};
use std::ffi::CString;

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
