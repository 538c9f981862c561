import type { WordResult } from '@pagefleet/shared';
import type { PageLayout } from './reading-order.js';

/** A page as every engine and the text layer give it: blocks of lines of words, in its pixels. */
export interface LaidOutPage {
  blocks: PageLayout;
  width: number;
  height: number;
  dpi: number | undefined;
}

const escapeXml = (text: string) => text.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);

const bboxOf = (words: WordResult[]) => ({
  x0: Math.min(...words.map((w) => w.bbox.x0)),
  y0: Math.min(...words.map((w) => w.bbox.y0)),
  x1: Math.max(...words.map((w) => w.bbox.x1)),
  y1: Math.max(...words.map((w) => w.bbox.y1)),
});
const bboxTitle = ({ x0, y0, x1, y1 }: WordResult['bbox']) => `bbox ${x0} ${y0} ${x1} ${y1}`;

/** hOCR of a laid-out page, in Tesseract's structure (page, area, paragraph, line, word); `system` names what read it. */
export function layoutHocr(page: LaidOutPage, system: string): string {
  const areas = page.blocks
    .filter((block) => block.flat().length > 0)
    .map((block, b) => {
      const lines = block
        .filter((line) => line.length > 0)
        .map((line, l) => {
          const words = line
            .map(
              (word, w) =>
                `<span class="ocrx_word" id="word_${b + 1}_${l + 1}_${w + 1}" title="${bboxTitle(word.bbox)}; x_wconf ${Math.round(word.confidence)}">${escapeXml(word.text)}</span>`,
            )
            .join(' ');
          return `<span class="ocr_line" id="line_${b + 1}_${l + 1}" title="${bboxTitle(bboxOf(line))}">${words}</span>`;
        });
      const title = bboxTitle(bboxOf(block.flat()));
      return `<div class="ocr_carea" id="block_${b + 1}" title="${title}"><p class="ocr_par" id="par_${b + 1}" title="${title}">${lines.join('\n')}</p></div>`;
    });
  return `<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN" "http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd">
<html xmlns="http://www.w3.org/1999/xhtml" xml:lang="en" lang="en">
<head>
<title></title>
<meta http-equiv="Content-Type" content="text/html;charset=utf-8"/>
<meta name="ocr-system" content="pagefleet (${escapeXml(system)})"/>
<meta name="ocr-capabilities" content="ocr_page ocr_carea ocr_par ocr_line ocrx_word"/>
</head>
<body>
<div class="ocr_page" id="page_1" title="bbox 0 0 ${page.width} ${page.height}; ppageno 0; scan_res ${page.dpi ?? 0} ${page.dpi ?? 0}">
${areas.join('\n')}
</div>
</body>
</html>
`;
}

/** TSV of a laid-out page, with Tesseract's columns and levels (1 page … 5 word). */
export function layoutTsv(page: LaidOutPage): string {
  const rows = ['level\tpage_num\tblock_num\tpar_num\tline_num\tword_num\tleft\ttop\twidth\theight\tconf\ttext'];
  const row = (level: number, ids: number[], box: WordResult['bbox'], conf: number, text = '') =>
    rows.push([level, 1, ...ids, box.x0, box.y0, box.x1 - box.x0, box.y1 - box.y0, conf, text].join('\t'));
  row(1, [0, 0, 0, 0], { x0: 0, y0: 0, x1: page.width, y1: page.height }, -1);
  page.blocks.forEach((block, b) => {
    if (block.flat().length === 0) return;
    row(2, [b + 1, 0, 0, 0], bboxOf(block.flat()), -1);
    row(3, [b + 1, 1, 0, 0], bboxOf(block.flat()), -1);
    block.forEach((line, l) => {
      if (line.length === 0) return;
      row(4, [b + 1, 1, l + 1, 0], bboxOf(line), -1);
      line.forEach((word, w) =>
        row(5, [b + 1, 1, l + 1, w + 1], word.bbox, word.confidence, word.text.replace(/\t/g, ' ')),
      );
    });
  });
  return `${rows.join('\n')}\n`;
}
