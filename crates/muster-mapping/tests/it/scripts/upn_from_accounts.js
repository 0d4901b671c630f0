function getUserPrincipalName() {
    let upn = '';
    if (typeof Person.Accounts.MicrosoftActiveDirectory !== 'undefined' && Person.Accounts.MicrosoftActiveDirectory.userPrincipalName) {
        upn = Person.Accounts.MicrosoftActiveDirectory.userPrincipalName;
    } else {
        upn = Person.Contact.Business.Email;
    }
    return upn.toLowerCase();
}

getUserPrincipalName()
