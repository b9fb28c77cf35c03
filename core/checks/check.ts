/** One line of a verification or restore-test report: what was expected, what was found. */
export interface CheckResult {
	name: string;
	ok: boolean;
	expected: string;
	actual: string;
	message: string;
	/** The check could not run here (e.g. VERIFYONLY without a SQL Server): ok is false, but it is not a failure either. */
	notRun?: boolean;
}

export interface Verification {
	ok: boolean;
	checkedAt: string;
	checks: CheckResult[];
}

export const check = (name: string, ok: boolean, expected: string, actual: string, message: string): CheckResult => ({
	name,
	ok,
	expected,
	actual,
	message,
});

/** A check that could not run in this context: listed, never counted as passed. */
export const notRun = (name: string, expected: string, message: string): CheckResult => ({
	name,
	ok: false,
	expected,
	actual: 'not run',
	message,
	notRun: true,
});

/** A verification passes when every check that ran passed. */
export const allPassed = (checks: CheckResult[]) => checks.every((c) => c.ok || c.notRun);

/** Names for a check's message: the first `max`, and how many more. */
export const listNames = (names: string[], max = 15) =>
	names.length > max ? `${names.slice(0, max).join(', ')} and ${names.length - max} more` : names.join(', ');

/**
 * Said by the restore checks' "tables" check, which counts the ERP tables only: DBAccess's TOP_*
 * and SYS_* tables have checks of their own, while the archive and row-count checks count all.
 */
export const TOP_SYS_APART = ' (TOP_* and SYS_* tables in their own checks)';
