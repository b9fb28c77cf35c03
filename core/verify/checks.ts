/** One line of a verification or restore-test report: what was expected, what was found. */
export interface CheckResult {
	name: string;
	ok: boolean;
	expected: string;
	actual: string;
	message: string;
}

export interface Verification {
	ok: boolean;
	checkedAt: string;
	checks: CheckResult[];
}

export interface VerifyOptions {
	/** Folder holding pg_restore; found automatically when empty. */
	pgClientFolder?: string;
}

export const check = (name: string, ok: boolean, expected: string, actual: string, message: string): CheckResult => ({
	name,
	ok,
	expected,
	actual,
	message,
});

