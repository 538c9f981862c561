import assert from 'node:assert/strict';
import { test } from 'node:test';
import { judgeTextLayer, layerStats, type PageImages } from './text-quality.js';
import { displayedLayer, imageCoverage, imagesByPage, parseBboxPages } from './text-layer.js';

const words = (text: string) => text.split(/\s+/).filter(Boolean);
const covering = (coverage: number, textual = false): PageImages => ({ coverage, textual });
const NO_IMAGES = covering(0);

test('a born-digital page, numbers and formulas included, is read from its layer', () => {
  const prose = layerStats(words('The quick brown fox jumps over the lazy dog, twice.'));
  assert.deepEqual(judgeTextLayer(prose, NO_IMAGES), { use: true, reason: 'born-digital' });
  const table = layerStats(words('Total 1,234.56 € 12.00 $ 45.00 — 2024-01-03'));
  assert.equal(judgeTextLayer(table, covering(0.1)).use, true);
  const formula = layerStats(words('⇔ z 3 (z 2 − z 4 ) = z 1 (z 2 − z 4 )'));
  assert.equal(judgeTextLayer(formula, NO_IMAGES).use, true);
});

test('garbage layers are OCRed: control characters, private use, (cid:N), replacement characters, punctuation soup', () => {
  assert.equal(judgeTextLayer(layerStats(['\u0019\u0012']), NO_IMAGES).reason, 'undecodable');
  assert.equal(judgeTextLayer(layerStats(words('\ue001\ue002\ue003 \ue004ab')), NO_IMAGES).reason, 'undecodable');
  assert.equal(judgeTextLayer(layerStats(words('(cid:12)(cid:7)(cid:44) (cid:3)a')), NO_IMAGES).reason, 'undecodable');
  assert.equal(judgeTextLayer(layerStats(words('\ufffd\ufffd\ufffd word')), NO_IMAGES).reason, 'undecodable');
  assert.equal(judgeTextLayer(layerStats(words('"7+%-$ ,/*!& #@')), NO_IMAGES).reason, 'not-words');
  assert.equal(judgeTextLayer(layerStats([]), NO_IMAGES).reason, 'no-text');
});

test('scans: an OCR layer is read, a stamp is not; a page with images that could hold text is a hybrid, read', () => {
  const ocrLayer = layerStats(words('Dear Sir, thank you for your letter of the fifth.'));
  assert.deepEqual(judgeTextLayer(ocrLayer, covering(1, true)), { use: true, reason: 'ocr-layer' });
  assert.equal(judgeTextLayer(layerStats(['Page', '3']), covering(0.98, true)).reason, 'too-little-for-a-scan');
  assert.deepEqual(judgeTextLayer(ocrLayer, covering(0.05, true)), { use: true, reason: 'hybrid' });
  assert.equal(judgeTextLayer(ocrLayer, covering(0.5, false)).reason, 'born-digital', 'images too small for text');
});

test('word boxes come as the page is displayed; the size follows its /Rotate', () => {
  const xhtml = `<doc><page width="612.000000" height="792.000000"><flow><block xMin="1" yMin="2" xMax="3" yMax="4">
<line xMin="72" yMin="60" xMax="200" yMax="74"><word xMin="72.5" yMin="60" xMax="100" yMax="74">A&amp;B</word><word xMin="105" yMin="60" xMax="200" yMax="74">&lt;c&gt;</word></line>
</block></flow></page></doc>`;
  const [page] = parseBboxPages(xhtml);
  assert.ok(page);
  const upright = displayedLayer(page, 0);
  assert.deepEqual([upright.width, upright.height], [612, 792]);
  assert.deepEqual(
    upright.blocks.flat(2).map((word) => word.text),
    ['A&B', '<c>'],
  );
  assert.deepEqual(upright.blocks[0]?.[0]?.[0], { text: 'A&B', x0: 72.5, y0: 60, x1: 100, y1: 74 });
  const turned = displayedLayer(page, 90);
  assert.deepEqual([turned.width, turned.height], [792, 612]);
});

test('images from pdfimages -list, by page: their size as drawn; coverage is their area over the page area', () => {
  const list = `page   num  type   width height color comp bpc  enc interp  object ID x-ppi y-ppi size ratio
--------------------------------------------------------------------------------------------
   1     0 image    2550  3300  rgb     3   8  jpeg   no         7  0   300   300  836K 3.4%
   1     1 smask    2550  3300  gray    1   8  image  no         8  0   300   300  10K 0.1%
`;
  assert.deepEqual(imagesByPage(list).get(1), [{ width: 612, height: 792 }]);
  assert.equal(imageCoverage(imagesByPage(list).get(1) ?? [], 612, 792), 1);
  const small = list.replace('2550  3300', '300   300').replace('   1     1 smask', '   3     1 smask');
  assert.ok(Math.abs(imageCoverage(imagesByPage(small).get(1) ?? [], 612, 792) - 1 / (8.5 * 11)) < 1e-9);
  assert.deepEqual([...imagesByPage(small).keys()], [1], 'a soft mask is not an image drawn');
  assert.equal(imagesByPage(list.split('\n').slice(0, 2).join('\n')).size, 0);
  assert.equal(imageCoverage([], 612, 792), 0);
});

test('letters that are not words — a font mapping codes to the wrong letters — are OCRed; prose of other languages is not', () => {
  const english =
    'The service reads every page of the documents it is given. Where a page carries its own text, that text is read as it is written, and only the pictures are looked at again. A scanned page is read by the engine the submission names, and the result says which engine read it and how sure it was of every word it found on the page.';
  const shift = (text: string, by: number) =>
    text.replace(/[a-z]/gi, (char) => {
      const base = char <= 'Z' ? 65 : 97;
      return String.fromCharCode(((char.charCodeAt(0) - base + by) % 26) + base);
    });
  const judge = (text: string) => judgeTextLayer(layerStats(words(text)), NO_IMAGES).reason;
  assert.equal(judge(english), 'born-digital');
  for (const by of [1, 3, 13]) assert.equal(judge(shift(english, by)), 'wrong-letters', `shifted by ${by}`);
  const german =
    'Der Dienst liest jede Seite der Dokumente, die er bekommt. Wo eine Seite ihren eigenen Text trägt, wird dieser Text so gelesen, wie er geschrieben ist, und nur die Bilder werden noch einmal angesehen. Eine gescannte Seite liest die Maschine, die der Auftrag nennt, bzw. die voreingestellte; vgl. dazu das Handbuch und die Beispiele im Anhang, die jede Möglichkeit zeigen.';
  const czech =
    'Služba čte každou stránku dokumentů, které dostane. Kde stránka nese vlastní text, čte se tak, jak je napsán, a znovu se prohlížejí jen obrázky. Naskenovanou stránku čte stroj, který žádost jmenuje, a výsledek říká, který stroj ji četl a jak si byl jistý každým slovem, které na stránce našel, i když to byl jen prst nebo krk na obrázku vlka.';
  const acronyms = `${english} HTTP PDF XML CPU JVM www.example.org https://x.y/z GLn SLn bzw. vgl. 2024 3rd`;
  for (const [name, text] of Object.entries({ german, czech, acronyms }))
    assert.equal(judge(text), 'born-digital', name);
  // Too few words to judge by their letters: read.
  assert.equal(judge(shift('The service reads every page of the documents it is given.', 3)), 'born-digital');
});
