// proxyAddresses: the primary address upper-case SMTP, aliases lower-case smtp.
const local = Person.Name.NickName.toLowerCase() + '.' + (Person.Name.FamilyNamePrefix || '').replace(/ /g, '') + Person.Name.FamilyName.toLowerCase();
const addresses = ['SMTP:' + local + '@example.org', 'smtp:' + local.charAt(0) + '.' + local.split('.')[1] + '@example.org'];
addresses;
