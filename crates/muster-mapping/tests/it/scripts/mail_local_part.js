// E-mail local part without diacritics, spaces or apostrophes: "Zoë van 't Ångström" →
// "zoe.vantangstrom".
const nick = Person.Name.NickName || Person.Name.GivenName;
let local = nick + '.' + (Person.Name.FamilyNamePrefix || '') + Person.Name.FamilyName;
local = local.toLowerCase().normalize('NFD').replace(/[\u0300-\u036f]/g, '');
local.replace(/[^0-9a-z.\-_]/g, '');
