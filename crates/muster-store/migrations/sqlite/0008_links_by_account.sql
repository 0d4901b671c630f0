-- A sign-in's plan reads the links of the one or two accounts its look-up found, not every
-- link of the target; the partial unique index covers only active links.
CREATE INDEX links_by_account ON links (target, account);
