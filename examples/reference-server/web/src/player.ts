import { h } from './dom.js';

/** Peak amplitude (0..1) of each of `buckets` slices of the first channel. */
export function peaks(samples: Float32Array, buckets: number): number[] {
  const out: number[] = [];
  const size = Math.max(1, Math.floor(samples.length / buckets));
  for (let b = 0; b < buckets; b++) {
    let max = 0;
    const end = Math.min(samples.length, (b + 1) * size);
    for (let i = b * size; i < end; i++) {
      const v = Math.abs(samples[i] as number);
      if (v > max) max = v;
    }
    out.push(max);
  }
  return out;
}

/**
 * The recording: its waveform (computed in the browser from the decoded audio; click or arrow keys to seek), the
 * native audio controls (play, seek by Range requests, volume), playback speed and download.
 */
export function recordingPlayer(url: string, name: string | null, signal: AbortSignal): HTMLElement {
  const audio = h('audio', { controls: true, preload: 'metadata', src: url, id: 'recording-audio' });
  const canvas = h('canvas', {
    width: 1200,
    height: 120,
    tabindex: 0,
    role: 'slider',
    'aria-label': 'Waveform: position in the recording (arrow keys seek 5 s)',
    'aria-valuemin': 0,
    'aria-valuemax': 100,
    'aria-valuenow': 0,
  });
  const status = h('span', { class: 'muted', id: 'waveform-status' }, 'Loading the waveform…');
  const speed = h(
    'select',
    { id: 'speed' },
    ['0.75', '1', '1.25', '1.5', '2'].map((s) => h('option', { value: s, selected: s === '1' }, `${s}×`)),
  );
  speed.addEventListener('change', () => {
    audio.playbackRate = Number(speed.value);
  });
  let bars: number[] = [];
  const draw = () => {
    const ctx = canvas.getContext('2d');
    if (!ctx) return;
    const { width, height } = canvas;
    ctx.clearRect(0, 0, width, height);
    const played = audio.duration ? audio.currentTime / audio.duration : 0;
    const w = width / Math.max(1, bars.length);
    bars.forEach((p, i) => {
      ctx.fillStyle = i / bars.length < played ? '#0b5cad' : '#9aa3ad';
      const bh = Math.max(1, p * (height - 4));
      ctx.fillRect(i * w, (height - bh) / 2, Math.max(1, w - 1), bh);
    });
    canvas.setAttribute('aria-valuenow', String(Math.round(played * 100)));
  };
  const seekTo = (fraction: number) => {
    if (!audio.duration) return;
    audio.currentTime = Math.min(audio.duration, Math.max(0, fraction * audio.duration));
  };
  canvas.addEventListener('click', (e) => {
    const rect = canvas.getBoundingClientRect();
    seekTo((e.clientX - rect.left) / rect.width);
  });
  canvas.addEventListener('keydown', (e) => {
    if (!audio.duration) return;
    const step = 5 / audio.duration;
    const at = audio.currentTime / audio.duration;
    if (e.key === 'ArrowRight') seekTo(at + step);
    else if (e.key === 'ArrowLeft') seekTo(at - step);
    else if (e.key === ' ' || e.key === 'Enter') void (audio.paused ? audio.play() : audio.pause());
    else return;
    e.preventDefault();
  });
  audio.addEventListener('timeupdate', draw);
  audio.addEventListener('seeked', draw);

  // The waveform needs the whole file: fetched once and decoded by the browser (any format it can play).
  fetch(url, { signal })
    .then((res) => {
      if (!res.ok) throw new Error(`${res.status} ${res.statusText}`);
      return res.arrayBuffer();
    })
    .then(async (bytes) => {
      const AudioCtx =
        window.AudioContext ??
        (window as unknown as { webkitAudioContext: typeof AudioContext }).webkitAudioContext;
      const ctx = new AudioCtx();
      try {
        const decoded = await ctx.decodeAudioData(bytes);
        bars = peaks(decoded.getChannelData(0), 300);
        status.textContent = `${decoded.duration.toFixed(1)} s, ${decoded.sampleRate} Hz`;
        canvas.dataset.peaks = String(bars.length);
        draw();
      } finally {
        void ctx.close();
      }
    })
    .catch((err: Error) => {
      if (!signal.aborted) status.textContent = `No waveform: ${err.message}`;
    });

  const download = `${url}?download=1`;
  return h(
    'section',
    { class: 'player', 'aria-labelledby': 'recording-title' },
    h('h2', { id: 'recording-title' }, 'Recording'),
    canvas,
    audio,
    h(
      'div',
      { class: 'row' },
      h('label', { for: 'speed', style: 'flex-direction:row;align-items:center;gap:.4rem' }, 'Speed', speed),
      h('a', { class: 'button secondary', href: download, download: name ?? '' }, 'Download'),
      status,
    ),
  );
}
