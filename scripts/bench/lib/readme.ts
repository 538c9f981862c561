import { readFile, writeFile } from 'node:fs/promises';

/**
 * Replaces what lies between `<!-- NAME:begin … -->` and `<!-- NAME:end -->` in README: the part a
 * benchmark writes, so that README's figures are always the last measured ones.
 */
export async function replaceReadmeSection(readmeFile: string, name: string, content: string): Promise<void> {
  const readme = await readFile(readmeFile, 'utf8');
  const begin = new RegExp(`<!-- ${name}:begin[^>]*-->`).exec(readme);
  const end = readme.indexOf(`<!-- ${name}:end -->`);
  if (!begin || end < begin.index)
    throw new Error(`README.md has no <!-- ${name}:begin --> … <!-- ${name}:end --> section`);
  await writeFile(readmeFile, `${readme.slice(0, begin.index + begin[0].length)}\n${content}\n${readme.slice(end)}`);
}
