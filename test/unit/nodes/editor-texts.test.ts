/**
 * Texts the editor shows, as n8n 2.40's editor renders them (issue 16):
 * - descriptions go through sanitize-html with its default tags: Markdown backticks show as
 *   backticks (use <code>), and an unknown tag such as `<ID>` disappears (write &lt;ID&gt;);
 *   notices keep only a, ul and li;
 * - a placeholder is an example, never mistaken for the value an empty field means;
 * - a switch added from "Add Option" is added switched on: its absence already means off.
 */
import type { ICredentialType, INodeProperties, INodeType } from 'n8n-workflow';
import * as pkg from '../../../index';

const exported = Object.values(pkg).map((Class) => new (Class as new () => INodeType | ICredentialType)());
const owners = exported.map((e) =>
	'description' in e
		? { name: e.description.name, properties: e.description.properties }
		: { name: e.name, properties: e.properties },
);

interface Text {
	where: string;
	field: string;
	text: string;
	notice: boolean;
}

function texts(name: string, properties: INodeProperties[], path = name): Text[] {
	return properties.flatMap((p) => {
		const where = `${path}.${p.name}`;
		const own: Text[] = (['displayName', 'description', 'hint', 'placeholder'] as const)
			.filter((field) => typeof p[field] === 'string')
			.map((field) => ({ where, field, text: String(p[field]), notice: p.type === 'notice' }));
		const nested = (p.options ?? []).flatMap((o) =>
			'displayName' in o
				? texts(name, [o as INodeProperties], where)
				: 'values' in o
					? texts(name, o.values as INodeProperties[], where)
					: typeof o.description === 'string'
						? [
								{
									where: `${where}=${String((o as { value?: unknown }).value)}`,
									field: 'description',
									text: o.description,
									notice: false,
								},
							]
						: [],
		);
		return [...own, ...nested];
	});
}

const all = owners.flatMap((o) => texts(o.name, o.properties));
const SANITIZER_TAGS = ['code', 'a', 'b', 'strong', 'em', 'i', 'br', 'p', 'ul', 'li'];

describe('editor texts', () => {
	it('read every node and credential', () => {
		expect(all.length).toBeGreaterThan(100);
	});

	it('no Markdown backticks (the editor shows them raw)', () => {
		expect(all.filter((t) => t.text.includes('`')).map((t) => `${t.where} ${t.field}`)).toEqual([]);
	});

	it('no tag the sanitizer removes (a literal <ID> vanishes)', () => {
		const stripped = all.filter((t) =>
			[...t.text.matchAll(/<\/?([A-Za-z][\w-]*)/g)].some(
				([, tag]) => !(t.notice ? ['a', 'ul', 'li'] : SANITIZER_TAGS).includes(tag.toLowerCase()),
			),
		);
		expect(stripped.map((t) => `${t.where} ${t.field}: ${t.text.slice(0, 80)}`)).toEqual([]);
	});

	it('a switch in an Options collection is added switched on', () => {
		const off = owners.flatMap((o) =>
			o.properties
				.filter((p) => p.type === 'collection')
				.flatMap((c) =>
					(c.options as INodeProperties[])
						.filter((opt) => opt.type === 'boolean' && opt.default !== true)
						.map((opt) => `${o.name}.${c.name}.${opt.name}`),
				),
		);
		expect(off).toEqual([]);
	});

	it('Staging Folder placeholders show what an empty folder means', () => {
		const staging = owners.flatMap((o) => o.properties.filter((p) => p.name === 'stagingFolder'));
		expect(staging.length).toBeGreaterThanOrEqual(3);
		for (const p of staging) expect(p.placeholder).toMatch(/~\/\.n8n-files\/totvs-backups/);
	});

	it('the FTP port shows a real port, not 0', () => {
		const ftp = exported.find((e) => !('description' in e) && e.name === 'totvsFtp') as ICredentialType;
		expect(ftp.properties.find((p) => p.name === 'port')?.default).toBe(21);
	});
});
