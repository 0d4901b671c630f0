//! What a script can and cannot reach.

use crate::common::*;
use muster_core::model::{Manager, Unit};
use muster_mapping::Limits;

#[test]
fn no_file_network_or_process_access_exists() {
    let m = complex_source(
        "['require', 'process', 'std', 'os', 'fetch', 'XMLHttpRequest', 'setTimeout', 'WebAssembly', 'Deno', 'Bun']\n  .filter(n => typeof globalThis[n] !== 'undefined').join(',')",
        "Text",
        Limits::default(),
    );
    assert_eq!(value(&m, &janine("B")), "");
    // Dynamic import has no loader to reach the file system.
    let m = complex_source(
        "let r = 'none';\nimport('/etc/passwd').then(() => { r = 'loaded'; }, e => { r = 'refused'; });\nr",
        "Text",
        Limits::default(),
    );
    assert_ne!(
        compute(&m, &janine("B"), 0).ok().flatten(),
        Some("loaded".into())
    );
}

#[test]
fn the_language_built_ins_work() {
    let m = complex_source(
        "const d = new Date(Date.UTC(2025, 0, 31));\n[\n  'Ǆemal'.normalize('NFKD').length,\n  /^(\\w+)@(?<d>[a-z.]+)$/.exec('jan@x.org').groups.d,\n  d.toISOString().slice(0, 10),\n  JSON.stringify({ a: [1, 'b'] }),\n  Math.max(3, 7),\n  'a-b-c'.split('-').reverse().join(''),\n  'x'.padStart(3, '0'),\n  [3, 1, 2].sort().map(String).join(''),\n  ' trim '.trim(),\n].join('|')",
        "Text",
        Limits::default(),
    );
    assert_eq!(
        value(&m, &janine("B")),
        "7|x.org|2025-01-31|{\"a\":[1,\"b\"]}|7|cba|00x|123|trim"
    );
}

#[test]
fn the_person_is_the_person_model_with_nulls_for_missing_values() {
    let m = complex_source(
        "JSON.stringify([Person.ExternalId, Person.DisplayName, Person.Name.Convention, Person.Contact.Personal.Email, Person.Contracts.length, Person.PrimaryContract.Department, Person.PrimaryContract === Person.Contracts[0], Person.PrimaryContract.EndDate, Object.keys(Person.Accounts).length])",
        "Text",
        Limits::default(),
    );
    assert_eq!(
        value(&m, &janine("PB")),
        "[\"1001\",null,\"PB\",null,1,{\"ExternalId\":null,\"Code\":null,\"DisplayName\":\"Finance\"},true,null,0]"
    );
}

/// A source's own facts (a mailbox's aliases and flags) are `Person.Custom`, as JSON values.
#[test]
fn custom_values_keep_their_json_types() {
    let m = complex_source(
        "JSON.stringify([Person.Custom.aliases, Person.Custom.account_disabled, typeof Person.Custom.missing])",
        "Text",
        Limits::default(),
    );
    let mut p = janine("B");
    p.custom
        .insert("aliases".into(), serde_json::json!(["a@x.nl", "b@x.nl"]));
    p.custom
        .insert("account_disabled".into(), serde_json::json!(true));
    assert_eq!(
        value(&m, &p),
        "[[\"a@x.nl\",\"b@x.nl\"],true,\"undefined\"]"
    );
}

/// HelloID's scripts read contract objects: `Department.ExternalId`, `Title.Name`,
/// `Organization.Name`, `Manager.ExternalId`; an object Muster has no value for is still there.
#[test]
fn contracts_have_helloids_objects() {
    let m = complex_source(
        "var c = Person.PrimaryContract;\nJSON.stringify([c.Department.ExternalId, c.Department.DisplayName, c.Title.Code, c.Title.Name, c.Organization.Name, c.Manager.ExternalId, c.Manager.DisplayName, c.Team.Name, c.Details.Fte, c.Fte])",
        "Text",
        Limits::default(),
    );
    let mut p = janine("B");
    let c = &mut p.contracts[0];
    c.department = Some(Unit {
        external_id: Some("FIN".into()),
        code: Some("F".into()),
        name: Some("Finance".into()),
    });
    c.title = Some(Unit {
        external_id: None,
        code: Some("CTR".into()),
        name: Some("Controller".into()),
    });
    c.organization = Some("Gemeente Example".into());
    c.manager = Some(Manager {
        external_id: Some("1000".into()),
        display_name: Some("Maarten Visser".into()),
        email: None,
    });
    assert_eq!(
        value(&m, &p),
        "[\"FIN\",\"Finance\",\"CTR\",\"Controller\",\"Gemeente Example\",\"1000\",\"Maarten Visser\",null,0.8,0.8]"
    );
}

#[test]
fn a_script_cannot_change_what_the_next_script_sees() {
    // One script mutates the person and replaces a HelloID built-in; the next run is clean.
    let dirty = complex_source(
        "Person.Name.NickName = 'Changed';\nfunction deleteDiacriticalMarks(s) { return 'gone'; }\ndeleteDiacriticalMarks('é')",
        "Text",
        Limits::default(),
    );
    assert_eq!(value(&dirty, &janine("B")), "gone");
    let clean = complex_source(
        "Person.Name.NickName + ' ' + deleteDiacriticalMarks('Zoë')",
        "Text",
        Limits::default(),
    );
    assert_eq!(value(&clean, &janine("B")), "Janine Zoe");
}

#[test]
fn the_smallest_memory_limit_a_configuration_may_set_runs_real_scripts() {
    let limits = Limits {
        memory: *Limits::MEMORY_MB.start() as usize * 1024 * 1024,
        ..Limits::default()
    };
    let m = complex_source(&script("display_name.js"), "Text", limits);
    assert_eq!(value(&m, &janine("PB")), "Janine de Vries - van den Boele");
}

/// Issue 13, item 11: every run starts from the same clean global state.
#[test]
fn a_global_var_starts_fresh_for_every_person() {
    let m = complex_source(
        "var counter = (typeof counter === 'undefined') ? 1 : counter + 1;\nString(counter)",
        "Text",
        Limits::default(),
    );
    // Different persons, so no result comes from the cache.
    assert_eq!(value(&m, &janine("B")), "1");
    assert_eq!(value(&m, &zoe()), "1");
    assert_eq!(value(&m, &janine("P")), "1");
}

#[test]
fn what_one_script_declares_is_invisible_to_another() {
    let first = complex_source(
        "var declared = 'first';\nfunction helper() { return 'first'; }\nimplicit = 'first';\nglobalThis.assigned = 'first';\ndeclared",
        "Text",
        Limits::default(),
    );
    assert_eq!(value(&first, &janine("B")), "first");
    let second = complex_source(
        "[typeof declared, typeof helper, typeof implicit, typeof assigned, 'declared' in globalThis].join(',')",
        "Text",
        Limits::default(),
    );
    assert_eq!(
        value(&second, &janine("B")),
        "undefined,undefined,undefined,undefined,false"
    );
    // Nor does a script see its own globals of the person before.
    let own = complex_source(
        "var seen = typeof leftover;\nleftover = 1;\nglobalThis.other = 2;\nseen + ',' + typeof other",
        "Text",
        Limits::default(),
    );
    assert_eq!(value(&own, &janine("B")), "undefined,number");
    assert_eq!(value(&own, &zoe()), "undefined,number");
}

#[test]
fn changes_to_built_ins_never_reach_the_next_run() {
    let m = complex_source(
        "Object.prototype.extra = 'leaked';\nArray.prototype.first = function () { return this[0]; };\nString.prototype.shout = function () { return 'LEAK'; };\nJSON = null;\nMath.max = function () { return -1; };\n[String(({}).extra), typeof [].first, typeof ''.shout, JSON === null, Math.max(1, 2)].join(',')",
        "Text",
        Limits::default(),
    );
    // Built-ins are frozen: the script's own changes to them do not take, in the run itself
    // either; a replaced global (JSON) is put back afterwards.
    assert_eq!(
        value(&m, &janine("B")),
        "undefined,undefined,undefined,true,2"
    );
    let next = complex_source(
        "[String(({}).extra), typeof [].first, typeof ''.shout, typeof JSON.stringify, Math.max(1, 2)].join(',')",
        "Text",
        Limits::default(),
    );
    assert_eq!(
        value(&next, &zoe()),
        "undefined,undefined,undefined,function,2"
    );
    assert_eq!(value(&m, &zoe()), "undefined,undefined,undefined,true,2");
}

#[test]
fn objects_a_script_makes_can_still_have_their_own_to_string_and_name() {
    let m = complex_source(
        "const o = {};\no.toString = function () { return 'own'; };\nconst e = new Error('x');\ne.name = 'Mine';\nclass Point { constructor() { this.constructor = 'c'; } }\n[String(o), e.name, String(e), new Point().constructor, ({}).toString()].join('|')",
        "Text",
        Limits::default(),
    );
    assert_eq!(
        value(&m, &janine("B")),
        "own|Mine|Mine: x|c|[object Object]"
    );
}

/// Runs `source` for three different persons (so no result comes from the cache) and
/// expects `expected` every time: what one run did must not show in the next.
fn same_for_every_person(source: &str, expected: &str) {
    let m = complex_source(source, "Text", Limits::default());
    for (i, p) in [janine("B"), zoe(), janine("P")].iter().enumerate() {
        assert_eq!(value(&m, p), expected, "run {}", i + 1);
    }
}

#[test]
fn implicit_globals_this_and_global_this_do_not_outlive_the_run() {
    same_for_every_person(
        "var seen = [typeof a, typeof b, typeof c, typeof d].join();\na = 1;\nthis.b = 2;\nglobalThis.c = 3;\n(0, eval)('var d = 4');\nseen",
        "undefined,undefined,undefined,undefined",
    );
}

#[test]
fn a_deleted_built_in_is_back_for_the_next_run() {
    same_for_every_person(
        "var seen = typeof JSON + ',' + typeof Math.max + ',' + typeof deleteDiacriticalMarks;\ndelete globalThis.JSON;\ndelete Math;\nseen",
        "object,function,function",
    );
}

#[test]
fn a_redefined_array_method_changes_nothing() {
    same_for_every_person(
        "var before = [1, 2].map(x => x * 2).join();\nArray.prototype.map = function () { return ['hijacked']; };\ntry { Object.defineProperty(Array.prototype, 'map', { value: () => ['hijacked'] }); } catch (e) {}\ntry { Object.setPrototypeOf(Array.prototype, null); } catch (e) {}\nbefore + '|' + [1, 2].map(x => x * 2).join()",
        "2,4|2,4",
    );
}

#[test]
fn a_function_declaration_does_not_leak_between_persons() {
    // The declaration is evaluated where it stands; before that a fresh run has no `helper`
    // on the global object (a leaked one from the person before would be a function).
    same_for_every_person(
        "const before = typeof globalThis.helper + ',' + typeof globalThis.counter;\nfunction helper() { return 1; }\nvar counter = helper();\nbefore",
        "undefined,undefined",
    );
}

#[test]
fn a_non_configurable_global_does_not_reach_the_next_run() {
    same_for_every_person(
        "var seen = typeof fixed + ',' + typeof JSON;\nObject.defineProperty(globalThis, 'fixed', { value: 1, writable: false, configurable: false });\nObject.defineProperty(globalThis, 'JSON', { value: 'taken', writable: false, configurable: false });\nseen",
        "undefined,object",
    );
}

#[test]
fn a_frozen_global_object_does_not_reach_the_next_run() {
    same_for_every_person(
        "var seen = typeof leftover;\nleftover = 1;\nObject.freeze(globalThis);\nseen",
        "undefined",
    );
}

#[test]
fn person_and_iteration_cannot_be_taken_over() {
    same_for_every_person(
        "var seen = (Person === null ? 'null' : typeof Person) + ',' + Iteration;\nIteration = 7;\ntry { Object.defineProperty(globalThis, 'Person', { value: 'taken', writable: false }); } catch (e) {}\nseen",
        "object,0",
    );
}

/// QuickJS keeps `Error.stackTraceLimit` and `Error.prepareStackTrace` in the context, behind
/// setters that a frozen `Error` still has.
#[test]
fn error_settings_of_the_context_start_fresh() {
    same_for_every_person(
        "var seen = typeof Error.prepareStackTrace + ',' + Error.stackTraceLimit + ',' + typeof new Error('x').stack;\nError.prepareStackTrace = function () { return 42; };\nError.stackTraceLimit = 0;\nseen",
        "undefined,10,string",
    );
}

#[test]
fn a_getter_added_to_the_global_object_is_removed() {
    same_for_every_person(
        "var seen = typeof sneaky;\nObject.defineProperty(globalThis, 'sneaky', { get() { return 1; }, configurable: true });\nseen",
        "undefined",
    );
}

#[test]
fn a_new_prototype_of_the_global_object_is_put_back() {
    same_for_every_person(
        "var seen = typeof inherited;\ntry { Object.setPrototypeOf(globalThis, { inherited: 1 }); } catch (e) {}\nseen",
        "undefined",
    );
}

#[test]
fn a_declaration_that_replaces_a_built_in_global_is_undone() {
    // `function escape` makes the global `escape` the script's own (and permanent); the next
    // person's run still starts with the built-in.
    same_for_every_person(
        "var seen = escape('a b');\nfunction later() {}\n(0, eval)('function escape(s) { return \"mine\"; }');\nseen + ',' + escape('x')",
        "a%20b,mine",
    );
}

#[test]
fn a_built_in_global_with_changed_attributes_is_put_back() {
    // Same value, other attributes: enumerable, or no longer configurable.
    same_for_every_person(
        "var seen = [Object.keys(globalThis).indexOf('JSON'), Object.getOwnPropertyDescriptor(globalThis, 'Date').configurable].join();\nObject.defineProperty(globalThis, 'JSON', { enumerable: true });\nObject.defineProperty(globalThis, 'Date', { configurable: false });\nseen",
        "-1,true",
    );
}
