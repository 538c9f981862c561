// The page at `/`: a client of the REST API like any other, with no logic of its own beyond
// drawing what the API answers.
import { PagefleetClient, ProblemError, type EngineChoice, type Job, type PageResult } from '@pagefleet/client';

/** Words read with less confidence than this are marked on the page image. */
const LOW_CONFIDENCE = 60;
const SVG = 'http://www.w3.org/2000/svg';

const byId = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const form = byId<HTMLFormElement>('submit-form');
const keyInput = byId<HTMLInputElement>('api-key');
const languagesInput = byId<HTMLInputElement>('languages');
const pagesInput = byId<HTMLInputElement>('pages');
const forceOcrInput = byId<HTMLInputElement>('force-ocr');
const engineInput = byId<HTMLSelectElement>('engine');
const interactiveInput = byId<HTMLInputElement>('interactive');
const filesInput = byId<HTMLInputElement>('files');
const dropZone = byId<HTMLLabelElement>('drop-zone');
const notice = byId<HTMLParagraphElement>('notice');
const jobs = byId<HTMLElement>('jobs');

// The key stays in this tab only, so that a reload does not ask again.
keyInput.value = sessionStorage.getItem('pagefleet-api-key') ?? '';
keyInput.addEventListener('change', () => sessionStorage.setItem('pagefleet-api-key', keyInput.value));

function element<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: Partial<HTMLElementTagNameMap[K]> = {},
  children: Array<Node | string> = [],
) {
  const node = Object.assign(document.createElement(tag), props);
  node.append(...children);
  return node;
}

function tell(message: string | undefined): void {
  notice.hidden = message === undefined;
  notice.textContent = message ?? '';
}

const client = () => new PagefleetClient({ url: location.origin, apiKey: keyInput.value.trim() || undefined });
const message = (err: unknown) => (err instanceof ProblemError ? err.problem.detail : (err as Error).message);

/** A download from an authenticated request: fetched, then handed to the browser as a file. */
function downloadButton(label: string, name: string, fetchBlob: () => Promise<Blob>): HTMLButtonElement {
  const button = element('button', { type: 'button', textContent: label });
  button.addEventListener('click', async () => {
    try {
      const url = URL.createObjectURL(await fetchBlob());
      element('a', { href: url, download: name }).click();
      setTimeout(() => URL.revokeObjectURL(url), 60_000);
    } catch (err) {
      tell(`${label}: ${message(err)}`);
    }
  });
  return button;
}

/** The page image with a box over every word; low-confidence words dashed and shaded. */
function pageFigure(result: PageResult, image: Blob): HTMLElement {
  const figure = element('figure', { className: 'scan' });
  const width = result.width ?? 1;
  const height = result.height ?? 1;
  const img = element('img', {
    src: URL.createObjectURL(image),
    alt: `Page ${result.page} as read, with a box over each of its ${result.words.length} words`,
  });
  const svg = document.createElementNS(SVG, 'svg');
  svg.setAttribute('viewBox', `0 0 ${width} ${height}`);
  svg.setAttribute('preserveAspectRatio', 'none');
  svg.setAttribute('aria-hidden', 'true');
  for (const word of result.words) {
    const rect = document.createElementNS(SVG, 'rect');
    rect.setAttribute('x', String(word.bbox.x0));
    rect.setAttribute('y', String(word.bbox.y0));
    rect.setAttribute('width', String(word.bbox.x1 - word.bbox.x0));
    rect.setAttribute('height', String(word.bbox.y1 - word.bbox.y0));
    if (word.confidence < LOW_CONFIDENCE) rect.classList.add('low');
    const title = document.createElementNS(SVG, 'title');
    title.textContent = `${word.text} (${Math.round(word.confidence)}%)`;
    rect.append(title);
    svg.append(rect);
  }
  figure.append(img, svg);
  return figure;
}

async function showPage(api: PagefleetClient, jobId: string, section: HTMLElement, page: number): Promise<void> {
  const result = await api.page(jobId, page);
  const low = result.words.filter((word) => word.confidence < LOW_CONFIDENCE);
  const heading = element('h3', {
    textContent:
      result.status === 'completed'
        ? `Page ${page} · confidence ${Math.round(result.confidence)}% `
        : `Page ${page} · failed: ${result.error ?? 'no reason given'}`,
  });
  if (result.method) {
    // How the page was read: its own text layer, or OCR of its image.
    heading.append(
      element('span', {
        className: `badge method-${result.method}`,
        textContent: result.method === 'text' ? 'text layer' : 'OCR',
        title: result.method === 'text' ? "Read from the PDF's own text" : 'Recognized from the page image',
      }),
    );
  }
  const text = element('pre', {
    tabIndex: 0,
    ariaLabel: `Text of page ${page}`,
    className: 'page-text',
    textContent: result.text,
  });
  const legend = element('p', { className: 'legend' }, [
    `${result.words.length} words; `,
    element('span', { className: 'low', textContent: `${low.length} below ${LOW_CONFIDENCE}% confidence` }),
    low.length > 0
      ? `: ${low
          .slice(0, 12)
          .map((word) => word.text)
          .join(' ')}${low.length > 12 ? ' …' : ''}`
      : '',
  ]);
  const pageSection = element('section', { className: 'page', ariaLabel: `Page ${page}` }, [heading]);
  if (result.status === 'completed') {
    const image = await (await api.request(`/v1/jobs/${jobId}/pages/${page}?format=image`)).blob();
    pageSection.append(pageFigure(result, image), element('div', {}, [legend, text]));
  }
  // Pages arrive in the order they end: each goes to its place.
  const next = [...section.querySelectorAll<HTMLElement>('.page')].find((other) => Number(other.dataset.page) > page);
  pageSection.dataset.page = String(page);
  section.insertBefore(pageSection, next ?? null);
}

function downloads(api: PagefleetClient, job: Job): HTMLElement {
  const bar = element('div', { className: 'downloads', role: 'group', ariaLabel: 'Downloads' });
  if (job.pagesDone === 0) return bar;
  bar.append(
    downloadButton('Download text', `${job.id}.txt`, () =>
      api.text(job.id).then((text) => new Blob([text], { type: 'text/plain' })),
    ),
    downloadButton('Download JSON', `${job.id}.json`, async () => {
      const pages = [];
      for await (const page of api.pages(job.id)) pages.push(page);
      return new Blob([JSON.stringify({ ...job, pages }, null, 2)], { type: 'application/json' });
    }),
  );
  if (job.outputs.includes('pdf'))
    bar.append(
      downloadButton('Download searchable PDF', `${job.id}.pdf`, () =>
        api.pdf(job.id).then((response) => response.blob()),
      ),
    );
  return bar;
}

async function follow(files: File[]): Promise<void> {
  const api = client();
  const accepted = await api.submit(
    files.map((file) => ({ name: file.name, data: file })),
    {
      languages: languagesInput.value.trim() || undefined,
      pages: pagesInput.value.replace(/\s/g, '') || undefined,
      forceOcr: forceOcrInput.checked,
      engine: engineInput.value as EngineChoice,
      priority: interactiveInput.checked ? 'interactive' : 'batch',
      outputs: ['text', 'json', 'pdf', 'image'],
    },
  );
  const status = element('p', {
    className: 'status',
    role: 'status',
    textContent: `queued: 0 of ${accepted.pageCount} pages read`,
  });
  const progress = element('progress', { max: accepted.pageCount, value: 0, ariaLabel: 'Pages read' });
  const section = element('article', { className: 'job', ariaLabel: `Job ${accepted.id}` }, [
    element('h2', { textContent: files.map((file) => file.name).join(', ') }),
    element('p', { className: 'hint', textContent: `job ${accepted.id}` }),
    progress,
    status,
  ]);
  section.dataset.job = accepted.id;
  jobs.prepend(section);
  for await (const event of api.events(accepted.id)) {
    if (event.type === 'page') {
      progress.value = event.pagesDone + event.pagesFailed;
      status.textContent = `processing: ${event.pagesDone} of ${accepted.pageCount} pages read${event.pagesFailed ? `, ${event.pagesFailed} failed` : ''}`;
      await showPage(api, accepted.id, section, event.page).catch((err: unknown) => tell(message(err)));
    } else if (event.type === 'end') {
      const { job } = event;
      progress.value = job.pagesDone + job.pagesFailed;
      status.textContent = `${job.status}: ${job.pagesDone} of ${job.pageCount} pages read${job.error ? ` (${job.error})` : ''}`;
      status.className = `status status-${job.status}`;
      status.after(downloads(api, job));
    }
  }
}

function submit(files: File[]): void {
  if (files.length === 0) return;
  if (!form.reportValidity()) return;
  tell(undefined);
  follow(files).catch((err: unknown) => tell(message(err)));
}

filesInput.addEventListener('change', () => {
  submit([...(filesInput.files ?? [])]);
  filesInput.value = '';
});
for (const type of ['dragenter', 'dragover'] as const) {
  dropZone.addEventListener(type, (event) => {
    event.preventDefault();
    dropZone.classList.add('over');
  });
}
dropZone.addEventListener('dragleave', () => dropZone.classList.remove('over'));
dropZone.addEventListener('drop', (event) => {
  event.preventDefault();
  dropZone.classList.remove('over');
  submit([...(event.dataTransfer?.files ?? [])]);
});
