/**
 * pg_dump's --schema / --table patterns (psql rules): `*` and `?` are wildcards, unquoted
 * letters fold to lower case, double quotes keep case and make wildcards literal, and an
 * unquoted dot separates schema from table. The inventory uses the same rules as pg_dump
 * so that it describes exactly the tables in the dump.
 */
export interface NamePattern {
	schema?: RegExp;
	name: RegExp;
}

function toRegex(part: string): RegExp {
	let out = '';
	let quoted = false;
	for (let i = 0; i < part.length; i++) {
		const ch = part[i];
		if (ch === '"') {
			if (quoted && part[i + 1] === '"') {
				out += '"';
				i++;
			} else quoted = !quoted;
		} else if (!quoted && ch === '*') out += '.*';
		else if (!quoted && ch === '?') out += '.';
		else {
			const c = quoted ? ch : ch.toLowerCase();
			out += c.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
		}
	}
	return new RegExp(`^(?:${out})$`);
}

function splitUnquotedDot(pattern: string): string[] {
	const parts: string[] = [];
	let current = '';
	let quoted = false;
	for (const ch of pattern) {
		if (ch === '"') quoted = !quoted;
		if (ch === '.' && !quoted) {
			parts.push(current);
			current = '';
		} else current += ch;
	}
	parts.push(current);
	return parts;
}

export function parseTablePattern(pattern: string): NamePattern {
	const parts = splitUnquotedDot(pattern.trim());
	// database.schema.table is allowed by pg_dump when the database is the current one
	if (parts.length >= 2) return { schema: toRegex(parts[parts.length - 2]), name: toRegex(parts[parts.length - 1]) };
	return { name: toRegex(parts[0]) };
}

export function parseSchemaPattern(pattern: string): RegExp {
	return toRegex(pattern.trim());
}

export interface TableSelection {
	includeSchemas: string[];
	excludeSchemas: string[];
	includeTables: string[];
	excludeTables: string[];
}

export const selectsEverything = (s: TableSelection) =>
	!s.includeSchemas.length && !s.excludeSchemas.length && !s.includeTables.length && !s.excludeTables.length;

/** True when pg_dump, given these patterns, dumps the data of schema.table. */
export function makeTableMatcher(selection: TableSelection): (schema: string, table: string) => boolean {
	const includeSchemas = selection.includeSchemas.map(parseSchemaPattern);
	const excludeSchemas = selection.excludeSchemas.map(parseSchemaPattern);
	const includeTables = selection.includeTables.map(parseTablePattern);
	const excludeTables = selection.excludeTables.map(parseTablePattern);
	const tableMatches = (p: NamePattern, schema: string, table: string) =>
		(!p.schema || p.schema.test(schema)) && p.name.test(table);
	return (schema, table) => {
		// pg_dump: "-n and -N have no effect when -t is used".
		if (includeTables.length)
			return (
				includeTables.some((p) => tableMatches(p, schema, table)) &&
				!excludeTables.some((p) => tableMatches(p, schema, table))
			);
		if (includeSchemas.length && !includeSchemas.some((r) => r.test(schema))) return false;
		if (excludeSchemas.some((r) => r.test(schema))) return false;
		if (excludeTables.some((p) => tableMatches(p, schema, table))) return false;
		return true;
	};
}

/** pg_dump arguments for the selection (each pattern its own argv element: no shell). */
export function selectionArguments(selection: TableSelection): string[] {
	return [
		...selection.includeSchemas.map((p) => `--schema=${p}`),
		...selection.excludeSchemas.map((p) => `--exclude-schema=${p}`),
		...selection.includeTables.map((p) => `--table=${p}`),
		...selection.excludeTables.map((p) => `--exclude-table=${p}`),
	];
}
