/**
 * Reading a LoCoMo-format folder (one conversation per `*.json` file; the
 * format is described in the dev split's README) into what the recall
 * benchmark needs: the turns, in order, with their session's date, and the
 * scored questions with their evidence turns.
 */
import { readdir, readFile } from "node:fs/promises";
import { basename, join } from "node:path";

export interface Turn {
  /** `D<session>:<turn>`, what questions cite as evidence. */
  diaId: string;
  speaker: string;
  text: string;
  /** A caption of a photo the speaker shared, when there was one. */
  photo: string | null;
  /** When the turn's session took place. */
  sessionAt: Date | null;
}

export interface Question {
  question: string;
  evidence: string[];
  category: number;
}

export interface Conversation {
  /** The file name without `.json`. */
  name: string;
  turns: Turn[];
  questions: Question[];
}

/** Categories 1–4 are scored; 5 (adversarial, unanswerable) has no evidence to find. */
export const CATEGORIES: Record<number, string> = { 1: "multi-hop", 2: "temporal", 3: "open-domain", 4: "single-hop" };

const MONTHS = [
  "january",
  "february",
  "march",
  "april",
  "may",
  "june",
  "july",
  "august",
  "september",
  "october",
  "november",
  "december",
];

/** `1:56 pm on 8 May, 2023` → that time in UTC; null when the text is not in that shape. */
export function parseSessionDate(text: string): Date | null {
  const match = /^(\d{1,2}):(\d{2})\s*(am|pm)\s+on\s+(\d{1,2})\s+([A-Za-z]+),?\s+(\d{4})$/i.exec(text.trim());
  if (!match) return null;
  const [, hour, minute, half, day, monthName, year] = match;
  const month = MONTHS.indexOf(String(monthName).toLowerCase());
  if (month < 0) return null;
  const hour24 = (Number(hour) % 12) + (String(half).toLowerCase() === "pm" ? 12 : 0);
  return new Date(Date.UTC(Number(year), month, Number(day), hour24, Number(minute)));
}

interface RawTurn {
  speaker: string;
  dia_id: string;
  text: string;
  blip_caption?: string;
}

function parseConversation(name: string, raw: Record<string, unknown>): Conversation {
  const sessions = Object.keys(raw)
    .map((key) => /^session_(\d+)$/.exec(key))
    .filter((match): match is RegExpExecArray => match !== null)
    .map((match) => Number(match[1]))
    .sort((a, b) => a - b);
  const turns: Turn[] = [];
  for (const session of sessions) {
    const date = raw[`session_${session}_date_time`];
    const sessionAt = typeof date === "string" ? parseSessionDate(date) : null;
    for (const turn of raw[`session_${session}`] as RawTurn[]) {
      turns.push({
        diaId: turn.dia_id,
        speaker: turn.speaker,
        text: turn.text,
        photo: turn.blip_caption ?? null,
        sessionAt,
      });
    }
  }
  const questions = (raw.qa as Question[])
    .filter((qa) => qa.category in CATEGORIES && Array.isArray(qa.evidence) && qa.evidence.length > 0)
    .map((qa) => ({ question: String(qa.question), evidence: qa.evidence.map(String), category: qa.category }));
  return { name, turns, questions };
}

/** Every conversation in `dir`, in file-name order. */
export async function loadLocomo(dir: string): Promise<Conversation[]> {
  const files = (
    await readdir(dir).catch((error: unknown) => {
      throw new Error(`${dir}: cannot read the LoCoMo folder (pass another as an argument or in LOCOMO_DIR)`, {
        cause: error,
      });
    })
  )
    .filter((file) => file.endsWith(".json"))
    .sort();
  if (files.length === 0) throw new Error(`${dir}: no LoCoMo conversation files (*.json)`);
  return Promise.all(
    files.map(async (file) =>
      parseConversation(basename(file, ".json"), JSON.parse(await readFile(join(dir, file), "utf8"))),
    ),
  );
}

/** What the benchmark saves for a turn: the speaker and their words, and the photo they shared. */
export function turnContent(turn: Turn): string {
  return `${turn.speaker}: ${turn.text}${turn.photo ? ` [shares a photo: ${turn.photo}]` : ""}`;
}
