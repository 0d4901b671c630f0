// Functions HelloID offers every mapping script, defined once per worker. Restored after each
// script, so a script that defines its own copy does not change them for the next one.

// Strips diacritics: "Zoë Ångström" → "Zoe Angstrom". Letters without a decomposition
// (ø, ß, æ, ł) are kept; scripts that need them replaced do it themselves.
function deleteDiacriticalMarks(text) {
    if (typeof text !== 'string') {
        return text;
    }
    return text.normalize('NFD').replace(/[\u0300-\u036f]/g, '');
}
