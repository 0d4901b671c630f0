// sAMAccountName-style user name: initials, the first letter of each prefix word, the family
// name; at most 20 characters; from Iteration 1 on, a number (2, 3, …) within the 20.
function userName() {
    let initials = (Person.Name.Initials || '').replace(/[^A-Za-z]/g, '').toLowerCase();
    let prefix = '';
    if (Person.Name.FamilyNamePrefix) {
        prefix = Person.Name.FamilyNamePrefix.split(' ').map(function (p) { return p.charAt(0); }).join('').toLowerCase();
    }
    let family = deleteDiacriticalMarks(Person.Name.FamilyName).toLowerCase().replace(/[^a-z]/g, '');
    let suffix = Iteration === 0 ? '' : String(Iteration + 1);
    return (initials + prefix + family).substring(0, 20 - suffix.length) + suffix;
}
userName();
