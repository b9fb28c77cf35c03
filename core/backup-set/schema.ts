/**
 * A minimal schema checker for manifests: it names the exact field that is wrong
 * (`artifacts[2].sha256: expected 64 lowercase hex characters`), which is what a user reading
 * an error about a damaged manifest needs. Small on purpose; no runtime dependency.
 */
export type Check = (value: unknown, path: string) => string | undefined;

const typeName = (value: unknown) => (value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value);

export const string =
	(pattern?: RegExp, what?: string): Check =>
	(value, path) => {
		if (typeof value !== 'string') return `${path}: expected a string, found ${typeName(value)}`;
		if (pattern && !pattern.test(value))
			return `${path}: expected ${what ?? `a value matching ${pattern}`}, found ${quote(value)}`;
		return undefined;
	};

/** JSON quoting: a newline or control character in a bad value shows as \n, not as a line break in a log. */
const quote = (value: string) => JSON.stringify(value.slice(0, 80));

/**
 * A relative path inside a folder, checked segment by segment: no regular expression, since `.`
 * does not match a newline and `x\n/../../tmp/pwn` once passed a "no .." pattern.
 * - strict (names we write: artifacts): forward slashes only, no control character, no empty or
 *   "." segment, none of `reserved` as the whole path;
 * - otherwise (names from a scanned file tree, where a newline or a backslash is a legal Linux
 *   file name character): no ".." segment between '/' or '\', no NUL, not absolute.
 */
export const relativePath =
	(what: string, options: { strict: boolean; reserved?: readonly string[] }): Check =>
	(value, path) => {
		if (typeof value !== 'string') return `${path}: expected a string, found ${typeName(value)}`;
		const problem = pathProblem(value, options.strict, options.reserved ?? []);
		return problem ? `${path}: expected ${what}, found ${quote(value)} (${problem})` : undefined;
	};

function pathProblem(value: string, strict: boolean, reserved: readonly string[]): string | undefined {
	if (value === '') return 'empty';
	if (value.includes('\0')) return 'it has a NUL character';
	if (value.startsWith('/') || value.startsWith('\\')) return 'it is absolute';
	if (/^[A-Za-z]:/.test(value)) return 'it starts with a drive letter';
	if (strict) {
		if (/[\x00-\x1f\x7f]/.test(value)) return 'it has a control character';
		if (value.includes('\\')) return 'it has a backslash';
		if (reserved.includes(value)) return 'that name is reserved for the set itself';
	}
	for (const segment of value.split(strict ? '/' : /[/\\]/)) {
		if (segment === '..') return 'it has a ".." segment';
		if (strict && (segment === '' || segment === '.')) return 'it has an empty or "." segment';
	}
	return undefined;
}

export const integer =
	(min = 0): Check =>
	(value, path) =>
		typeof value === 'number' && Number.isInteger(value) && value >= min
			? undefined
			: `${path}: expected an integer >= ${min}, found ${JSON.stringify(value)}`;

export const boolean: Check = (value, path) =>
	typeof value === 'boolean' ? undefined : `${path}: expected true or false, found ${typeName(value)}`;

export const oneOf =
	(...allowed: ReadonlyArray<string | number | null>): Check =>
	(value, path) =>
		allowed.includes(value as string)
			? undefined
			: `${path}: expected one of ${allowed.map((a) => JSON.stringify(a)).join(', ')}, found ${JSON.stringify(value)}`;

export const nullable =
	(check: Check): Check =>
	(value, path) =>
		value === null ? undefined : check(value, path);

/** Fields that may be absent (older writers) but are checked when present. */
export const optional =
	(check: Check): Check =>
	(value, path) =>
		value === undefined ? undefined : check(value, path);

export const arrayOf =
	(check: Check): Check =>
	(value, path) => {
		if (!Array.isArray(value)) return `${path}: expected a list, found ${typeName(value)}`;
		for (let i = 0; i < value.length; i++) {
			const problem = check(value[i], `${path}[${i}]`);
			if (problem) return problem;
		}
		return undefined;
	};

/** An object with the given fields; fields not named are allowed (newer minor additions). */
export const object =
	(fields: Record<string, Check>): Check =>
	(value, path) => {
		if (typeof value !== 'object' || value === null || Array.isArray(value))
			return `${path}: expected an object, found ${typeName(value)}`;
		const record = value as Record<string, unknown>;
		for (const [name, check] of Object.entries(fields)) {
			const problem = check(record[name], path ? `${path}.${name}` : name);
			if (problem) return problem;
		}
		return undefined;
	};

export const anything: Check = () => undefined;
