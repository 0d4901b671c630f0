// First choice     janine.vandenboele@example.org
// If in use        j.vandenboele@example.org
// If also in use   janine.vandenboele2@example.org, 3, …
// Partner name first for conventions P and PB.
function generateMail() {
    let nickName = Person.Name.NickName;
    let middleName = Person.Name.FamilyNamePrefix;
    let lastName = Person.Name.FamilyName;
    let convention = Person.Name.Convention;
    if (convention === 'P' || convention === 'PB') {
        middleName = Person.Name.FamilyNamePartnerPrefix;
        lastName = Person.Name.FamilyNamePartner;
    }

    let mailNickName = '';
    if (Iteration === 0) {
        mailNickName = nickName + '.';
    } else if (Iteration === 1) {
        mailNickName = nickName.substring(0, 1) + '.';
    } else {
        mailNickName = nickName + '.';
    }
    if (typeof middleName !== 'undefined' && middleName) { mailNickName = mailNickName + middleName.replace(/ /g, '') }
    mailNickName = mailNickName + lastName;

    mailNickName = mailNickName.trim().toLowerCase();
    mailNickName = deleteDiacriticalMarks(mailNickName);
    mailNickName = mailNickName.replace(/[^0-9a-zA-Z.\-_]/g, '');

    let suffix = Iteration < 2 ? '' : String(Iteration);
    const domain = 'example.org';
    const maxAttributeLength = (64 - suffix.length);
    mailNickName = mailNickName.substring(0, maxAttributeLength);
    return mailNickName + suffix + '@' + domain;
}

generateMail();
