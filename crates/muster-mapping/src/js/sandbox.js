// Run once in every script's context, after the prelude: makes every script run start from
// the same global state. Evaluates to `{ begin, reset, checked, restoreBaseline, removeAdded }`:
// the worker calls `begin(person, iteration)` before each run and `reset()` after it, then
// compares the `checked` globals with their baseline (calling `restoreBaseline()` when one
// changed), then counts the global object's keys (calling `removeAdded()` when there are more
// than `reset` answered).
//
// - The language's built-ins (everything reachable from the global object: constructors,
//   prototypes, Math, JSON, …) are frozen, once per context, so no run can change what the
//   next one sees (`Object.prototype.x = 1` is ignored, or a TypeError in strict code). So that
//   objects a script makes can still have their own `toString`, `name`, `message`, … (which a
//   frozen prototype would otherwise forbid by assignment), those prototype properties become
//   accessors whose setter gives the object its own property.
// - `Person` and `Iteration` are plain writable globals that no run can delete; `begin` sets
//   them.
// - After every run the global object is put back as it was, cheaply enough to do it every
//   time: the worker compares every built-in global (attributes and value) with its baseline
//   (a replaced, redefined or deleted one is put back by `restoreBaseline`); `reset` sets the
//   script's own top-level `var`s and functions (which JavaScript makes undeletable) back to
//   `undefined`, as a fresh run declares them, with a function compiled for this context
//   (`g.counter = undefined; …`). The global object's prototype and extensibility and the context's
//   `Error.stackTraceLimit` and `Error.prepareStackTrace` (which QuickJS keeps outside any
//   object, behind setters a frozen `Error` still has) are put back too. It answers how many
//   own keys the global object has when nothing was added (the worker counts them without
//   making an array of them), or -1 when it cannot put something back (a script froze a
//   global): the worker then starts a fresh context. `removeAdded` deletes what a run added;
//   a key it cannot delete is either the script's own declaration (kept, reset as above from
//   then on) or makes it answer false.
(function () {
    'use strict';
    const { ownKeys, getOwnPropertyDescriptor, defineProperty, deleteProperty, getPrototypeOf,
        isExtensible } = Reflect;
    const freeze = Object.freeze;
    const is = Object.is;
    const g = globalThis;
    const NativeError = Error;
    const shadowable = ['constructor', 'toString', 'toLocaleString', 'valueOf', 'toJSON', 'name',
        'message'];
    const isObject = (v) => (typeof v === 'object' && v !== null) || typeof v === 'function';
    // Names that can be written as `g.name` in generated code; any other key takes the generic
    // (slower) path, so no key ever becomes code.
    const plainName = (key) => typeof key === 'string' && /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(key);

    function tame(o) {
        for (const key of shadowable) {
            const d = getOwnPropertyDescriptor(o, key);
            if (!d || !('value' in d) || !d.configurable) {
                continue;
            }
            const value = d.value;
            const accessor = {
                get() { return value; },
                set(v) {
                    if (!isObject(this)) {
                        return;
                    }
                    if (this === o) {
                        throw new TypeError(`the built-in ${key} is read-only`);
                    }
                    defineProperty(this, key, { value: v, writable: true, enumerable: true, configurable: true });
                },
                enumerable: d.enumerable,
                configurable: false,
            };
            freeze(accessor.get);
            freeze(accessor.set);
            defineProperty(o, key, accessor);
        }
    }

    // Intrinsics no global names: the prototypes of generators, async functions and iterators.
    const queue = [
        getPrototypeOf(function* () {}), getPrototypeOf(async function () {}),
        getPrototypeOf(async function* () {}), getPrototypeOf([][Symbol.iterator]()),
        getPrototypeOf(''[Symbol.iterator]()), getPrototypeOf(new Map().entries()),
        getPrototypeOf(new Set().values()), getPrototypeOf(/a/[Symbol.matchAll]('')),
    ];
    for (const key of ownKeys(g)) {
        const d = getOwnPropertyDescriptor(g, key);
        for (const v of [d.value, d.get, d.set]) {
            if (isObject(v) && v !== g) queue.push(v);
        }
    }
    const seen = new Set([g]);
    while (queue.length > 0) {
        const o = queue.pop();
        if (seen.has(o)) continue;
        seen.add(o);
        for (const key of ownKeys(o)) {
            const d = getOwnPropertyDescriptor(o, key);
            for (const v of [d.value, d.get, d.set]) {
                if (isObject(v)) queue.push(v);
            }
        }
        const proto = getPrototypeOf(o);
        if (proto !== null) queue.push(proto);
    }
    for (const o of seen) {
        if (o !== g) {
            // Functions own only `name` and `length`, which no assignment changes anyway.
            if (typeof o !== 'function' || o === Function.prototype) {
                tame(o);
            }
            freeze(o);
        }
    }

    // `Person` and `Iteration` are globals of every run, set by `begin`, so a run that declares
    // nothing leaves the global object with exactly its baseline keys. Not configurable, so no
    // run can delete them or make them accessors; one that makes them read-only is caught by
    // `reset`.
    defineProperty(g, 'Person', { value: null, writable: true, enumerable: true, configurable: false });
    defineProperty(g, 'Iteration', { value: 0, writable: true, enumerable: true, configurable: false });

    const baseline = new Map();
    for (const key of ownKeys(g)) {
        baseline.set(key, getOwnPropertyDescriptor(g, key));
    }
    const prototype = getPrototypeOf(g);
    const traceLimit = NativeError.stackTraceLimit;
    const prepareTrace = NativeError.prepareStackTrace;

    // Compared after every run by the worker (`engine::Baseline`, without calling a getter):
    // every baseline global but `Person` and `Iteration` (set on every run) and what no script
    // can change (`undefined`, `NaN`, `Infinity`: read-only and not configurable).
    const checked = [];
    for (const [key, d] of baseline) {
        if (key !== 'Person' && key !== 'Iteration' && (!('value' in d) || d.writable || d.configurable)) {
            checked.push(key);
        }
    }

    // Known keys: the baseline and the script's own top-level `var`s and functions, which
    // cannot be deleted and are set back to `undefined` after every run, by `clear` (compiled
    // again when a run declared a new one; a key that is no plain name by `otherDeclared`).
    const known = new Set(baseline.keys());
    const declared = [];
    const otherDeclared = [];
    let clear = null;

    function compileClear() {
        clear = new Function('g',
            `'use strict'; g.Person = null; g.Iteration = 0; ${declared.map((k) => `g.${k} = undefined;`).join(' ')}`);
    }
    compileClear();

    function sameDescriptor(a, b) {
        return a !== undefined && is(a.value, b.value) && a.get === b.get && a.set === b.set
            && a.writable === b.writable && a.enumerable === b.enumerable
            && a.configurable === b.configurable;
    }

    // Every baseline global with its baseline descriptor again; false when one cannot be.
    function restoreBaseline() {
        for (const [key, was] of baseline) {
            if (key === 'Person' || key === 'Iteration') continue;
            if (!sameDescriptor(getOwnPropertyDescriptor(g, key), was) && !defineProperty(g, key, was)) {
                return false;
            }
        }
        return true;
    }

    function removeAdded() {
        let compile = false;
        for (const key of ownKeys(g)) {
            if (known.has(key) || deleteProperty(g, key)) continue;
            // Not deletable: a top-level `var` or function of the script (writable data), or a
            // global the script made permanent, which only a fresh context removes.
            const d = getOwnPropertyDescriptor(g, key);
            if (!('value' in d) || !d.writable) return false;
            g[key] = undefined;
            known.add(key);
            if (plainName(key)) {
                declared.push(key);
                compile = true;
            } else {
                otherDeclared.push(key);
            }
        }
        if (compile) compileClear();
        return true;
    }

    function restoreError() {
        // QuickJS keeps these in the context, behind setters a frozen `Error` still has.
        if (NativeError.stackTraceLimit !== traceLimit) NativeError.stackTraceLimit = traceLimit;
        if (NativeError.prepareStackTrace !== prepareTrace) NativeError.prepareStackTrace = prepareTrace;
    }

    return {
        begin(person, iteration) {
            g.Person = person;
            g.Iteration = iteration;
        },
        reset() {
            if (!isExtensible(g) || getPrototypeOf(g) !== prototype) return -1;
            try {
                clear(g);
                for (let i = 0; i < otherDeclared.length; i++) g[otherDeclared[i]] = undefined;
            } catch (e) {
                // A global the script made read-only.
                return -1;
            }
            restoreError();
            // When nothing was added, the global object has the known keys (after
            // `restoreBaseline`, if the worker finds a changed one).
            return known.size;
        },
        checked,
        restoreBaseline,
        removeAdded,
    };
})()
