// Sortable name: the surname(s) of the convention first, then initials and prefix.
// B "Boele, J.H. van den"   BP "Boele - de Vries, J.H. van den"
// P "Vries, J.H. de"        PB "Vries - van den Boele, J.H. de"
function sortName() {
    const n = Person.Name;
    const birthPrefix = n.FamilyNamePrefix || '';
    const partnerPrefix = n.FamilyNamePartnerPrefix || '';
    let surname;
    let prefix;
    switch (n.Convention) {
        case 'BP':
            surname = n.FamilyName + ' - ' + [partnerPrefix, n.FamilyNamePartner].filter(Boolean).join(' ');
            prefix = birthPrefix;
            break;
        case 'P':
            surname = n.FamilyNamePartner;
            prefix = partnerPrefix;
            break;
        case 'PB':
            surname = n.FamilyNamePartner + ' - ' + [birthPrefix, n.FamilyName].filter(Boolean).join(' ');
            prefix = partnerPrefix;
            break;
        default:
            surname = n.FamilyName;
            prefix = birthPrefix;
    }
    return [surname + ',', n.Initials, prefix].filter(Boolean).join(' ');
}
sortName();
