// Run once in every script's context, after the prelude: makes every script run start from
// the same global state. Evaluates to `{ begin, reset }`: the worker calls `begin(person,
// iteration)` before each run and `reset()` after it.
//
// - The language's built-ins (everything reachable from the global object: constructors,
//   prototypes, Math, JSON, …) are frozen, so no run can change what the next one sees
//   (`Object.prototype.x = 1` is ignored, or a TypeError in strict code). So that objects a
//   script makes can still have their own `toString`, `name`, `message`, … (which a frozen
//   prototype would otherwise forbid by assignment), those prototype properties become
//   accessors whose setter gives the object its own property.
// - `reset` puts the global object back as it was: globals a run added are deleted, built-in
//   globals it replaced are put back, and the script's own top-level `var`s and functions
//   (which JavaScript makes undeletable) are set back to `undefined`, as a fresh run declares
//   them. It answers false when it cannot (a script froze a global), and the worker then
//   starts a fresh context.
(function () {
    'use strict';
    const { ownKeys, getOwnPropertyDescriptor, defineProperty, deleteProperty, getPrototypeOf,
        isExtensible } = Reflect;
    const freeze = Object.freeze;
    const shadowable = ['constructor', 'toString', 'toLocaleString', 'valueOf', 'toJSON', 'name',
        'message'];
    const isObject = (v) => (typeof v === 'object' && v !== null) || typeof v === 'function';

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

    const baseline = new Map();
    // Intrinsics no global names: the prototypes of generators, async functions and iterators.
    const queue = [
        getPrototypeOf(function* () {}), getPrototypeOf(async function () {}),
        getPrototypeOf(async function* () {}), getPrototypeOf([][Symbol.iterator]()),
        getPrototypeOf(''[Symbol.iterator]()), getPrototypeOf(new Map().entries()),
        getPrototypeOf(new Set().values()), getPrototypeOf(/a/[Symbol.matchAll]('')),
    ];
    for (const key of ownKeys(globalThis)) {
        const d = getOwnPropertyDescriptor(globalThis, key);
        baseline.set(key, d);
        for (const v of [d.value, d.get, d.set]) {
            if (isObject(v) && v !== globalThis) queue.push(v);
        }
    }
    const seen = new Set([globalThis]);
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
        if (o !== globalThis) {
            // Functions own only `name` and `length`, which no assignment changes anyway.
            if (typeof o !== 'function' || o === Function.prototype) {
                tame(o);
            }
            freeze(o);
        }
    }
    // `Person` and `Iteration` are globals of every run, set by `begin`, so a run that declares
    // nothing leaves the global object with exactly its baseline keys.
    let current = { person: null, iteration: 0 };
    for (const key of ['Person', 'Iteration']) {
        const d = { get: () => current[key === 'Person' ? 'person' : 'iteration'], set() {}, enumerable: true, configurable: false };
        freeze(d.get);
        freeze(d.set);
        defineProperty(globalThis, key, d);
        baseline.set(key, getOwnPropertyDescriptor(globalThis, key));
    }
    // Data properties are compared by value on every run (cheap); accessors by descriptor.
    const dataKeys = [];
    const dataValues = [];
    const accessorKeys = [];
    for (const [key, d] of baseline) {
        if ('value' in d) {
            dataKeys.push(key);
            dataValues.push(d.value);
        } else {
            accessorKeys.push(key);
        }
    }
    // Known keys: the baseline and the script's own top-level `var`s and functions, which
    // cannot be deleted and are set back to `undefined` after every run.
    const known = new Set(baseline.keys());
    const declared = [];

    function restoreBaseline() {
        for (let i = 0; i < dataKeys.length; i++) {
            const now = globalThis[dataKeys[i]];
            const was = dataValues[i];
            // NaN is the one value not equal to itself.
            if (now !== was && (now === now || was === was)
                && !defineProperty(globalThis, dataKeys[i], baseline.get(dataKeys[i]))) {
                return false;
            }
        }
        for (const key of accessorKeys) {
            const was = baseline.get(key);
            const now = getOwnPropertyDescriptor(globalThis, key);
            if ((now === undefined || now.get !== was.get || now.set !== was.set)
                && !defineProperty(globalThis, key, was)) {
                return false;
            }
        }
        return true;
    }

    function removeAdded() {
        for (const key of ownKeys(globalThis)) {
            if (known.has(key) || deleteProperty(globalThis, key)) continue;
            const d = getOwnPropertyDescriptor(globalThis, key);
            if (!('value' in d) || !d.writable) return false;
            known.add(key);
            declared.push(key);
        }
        return true;
    }

    return {
        begin(person, iteration) {
            current = { person, iteration };
        },
        reset() {
            current = { person: null, iteration: 0 };
            if (!isExtensible(globalThis) || !restoreBaseline()) return false;
            // Every known key is there now, so a count above theirs means a run added some.
            if (ownKeys(globalThis).length !== known.size && !removeAdded()) return false;
            for (const key of declared) globalThis[key] = undefined;
            return true;
        },
    };
})()
