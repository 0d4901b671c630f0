// Run once in every script's context, after the prelude: makes every script run start from
// the same global state. Evaluates to `reset`, which the worker calls after each run.
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
            defineProperty(o, key, {
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
            });
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
    const names = [...baseline.keys()];

    function same(a, b) {
        return a.value === b.value && a.get === b.get && a.set === b.set
            && a.writable === b.writable && a.enumerable === b.enumerable
            && a.configurable === b.configurable;
    }

    return function reset() {
        if (!isExtensible(globalThis)) return false;
        for (const key of ownKeys(globalThis)) {
            const was = baseline.get(key);
            if (was !== undefined) {
                if (!same(getOwnPropertyDescriptor(globalThis, key), was)
                    && !defineProperty(globalThis, key, was)) {
                    return false;
                }
            } else if (!deleteProperty(globalThis, key)) {
                // A top-level `var` or function of the script: declared again by the next run.
                const d = getOwnPropertyDescriptor(globalThis, key);
                if (!('value' in d) || !d.writable) return false;
                globalThis[key] = undefined;
            }
        }
        for (const key of names) {
            const was = baseline.get(key);
            if (getOwnPropertyDescriptor(globalThis, key) === undefined
                && !defineProperty(globalThis, key, was)) {
                return false;
            }
        }
        return true;
    };
})()
