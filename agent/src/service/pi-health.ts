// The Pi's own health for the status record, /metrics and the status line:
// SoC temperature and the firmware's under-voltage / throttling bits, read
// from the files the Raspberry Pi kernel exposes. On other machines (a
// laptop, CI, a Pi kernel without the attribute) the fields are left out,
// never reported as zero, so "absent" and "fine" stay distinguishable.
//
// Sources:
// - /sys/class/thermal/thermal_zone0/temp: the generic Linux thermal sysfs;
//   on a Pi zone 0 is the SoC (bcm2835_thermal / brcmstb), in millidegrees C.
// - /sys/devices/platform/soc/soc:firmware/get_throttled: the `get_throttled`
//   attribute of the Raspberry Pi kernel's firmware driver
//   (raspberrypi/linux drivers/firmware/raspberrypi.c, added 2018 in
//   "firmware/raspberrypi: Add a get_throttled sysfs file"). It prints the
//   firmware's bit field in hex without "0x" (sprintf "%x"), the same value as
//   `vcgencmd get_throttled`. Newer kernels mark it deprecated in favour of
//   the rpi_volt hwmon device, which offers only the under-voltage alarm, so
//   the full bit field is still read from here.
import { readFile } from 'node:fs/promises';
import { decodeThrottled, type PiHealth } from '@frameline/shared';

export interface PiHealthFiles {
  /** Millidegrees C, e.g. "48312". */
  temperatureFile: string;
  /** Hex bit field, e.g. "50005" (a leading "0x" or "throttled=" is accepted too). */
  throttledFile: string;
}

/** One file's text, or undefined when it is missing or unreadable (no such hardware). */
async function readOptional(path: string): Promise<string | undefined> {
  if (!path) return undefined;
  try {
    return await readFile(path, 'utf8');
  } catch {
    return undefined;
  }
}

/** Millidegrees text to °C with one decimal; undefined unless it is a plain integer. */
export function parseTemperature(text: string | undefined): number | undefined {
  const t = text?.trim();
  if (!t || !/^-?\d+$/.test(t)) return undefined;
  return Math.round(Number(t) / 100) / 10;
}

/** The throttled bit field as a number; undefined unless it is hex within 32 bits. */
export function parseThrottled(text: string | undefined): number | undefined {
  const t = text?.trim().replace(/^throttled=/, '').replace(/^0x/i, '');
  if (!t || !/^[0-9a-f]{1,8}$/i.test(t)) return undefined;
  return parseInt(t, 16);
}

/** Reads both files now. Fields whose file is missing or unparsable are absent; {} on a machine without either. */
export async function readPiHealth(files: PiHealthFiles): Promise<PiHealth> {
  const [temp, throttled] = await Promise.all([readOptional(files.temperatureFile), readOptional(files.throttledFile)]);
  const socTempC = parseTemperature(temp);
  const raw = parseThrottled(throttled);
  return {
    ...(socTempC !== undefined ? { socTempC } : {}),
    ...(raw !== undefined ? { throttled: decodeThrottled(raw) } : {}),
  };
}

/** True when the hardware offered anything at all. */
export function hasPiHealth(pi: PiHealth): boolean {
  return pi.socTempC !== undefined || pi.throttled !== undefined;
}

/** Short words for the systemd status line: "SoC 61.2°C, UNDER-VOLTAGE"; "" when nothing is known. */
export function describePiHealth(pi: PiHealth): string {
  const parts: string[] = [];
  if (pi.socTempC !== undefined) parts.push(`SoC ${pi.socTempC.toFixed(1)}°C`);
  const t = pi.throttled;
  if (t?.underVoltageNow) parts.push('UNDER-VOLTAGE');
  if (t?.throttledNow) parts.push('THROTTLED');
  else if (t?.frequencyCappedNow) parts.push('FREQUENCY CAPPED');
  if (t?.softTempLimitNow) parts.push('SOFT TEMPERATURE LIMIT');
  return parts.join(', ');
}
