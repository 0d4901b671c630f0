// Contract hours per week from the FTE (36-hour week), one decimal.
Math.round(Person.PrimaryContract.Fte * 36 * 10) / 10
