// The primary contract's start as dd-MM-yyyy. A date without a time is read as local
// midnight, so the day is the same in every time zone.
function convertDate(date) {
    const day = String(date.getDate()).padStart(2, '0');
    const month = String(date.getMonth() + 1).padStart(2, '0');
    const year = date.getFullYear();
    return `${day}-${month}-${year}`;
}

function getFormattedStartDate() {
    const startDate = Person.PrimaryContract && Person.PrimaryContract.StartDate;
    if (!startDate) return "";
    const date = new Date(startDate + 'T00:00:00');
    return isNaN(date) ? "" : convertDate(date);
}

getFormattedStartDate();
