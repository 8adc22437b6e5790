-- The workbench search (issue #16 item 9) finds applications by their institution (USCC,
-- national code, part of the name): the institutions are picked first, then their
-- applications through this index instead of a scan of the city's applications. Creating an
-- application also counts the institution's open ones through it.
create index applications_by_institution on applications (institution_id);
