/**
 * Writes a run's report to a folder: report.json (the full SessionReport) and report.html (the
 * self-contained page). Part of src/sessions.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { SessionReport } from './report.ts';
import { renderReportHtml } from './report-html.ts';

/** Returns the paths written. */
export async function writeReportFiles(report: SessionReport, outDir: string): Promise<string[]> {
  await mkdir(outDir, { recursive: true });
  const json = join(outDir, 'report.json');
  const html = join(outDir, 'report.html');
  await writeFile(json, `${JSON.stringify(report, null, 2)}\n`);
  await writeFile(html, renderReportHtml(report));
  return [json, html];
}
