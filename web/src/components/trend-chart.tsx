/**
 * A trend plot of one numeric observation over time, drawn by uPlot (canvas: thousands of points
 * in a few milliseconds), with the same values as a table for screen readers and keyboards.
 */
import { useEffect, useRef } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

export interface Point {
  readonly time: number;
  readonly value: number;
}

export function TrendChart({
  title,
  unit,
  points,
}: {
  title: string;
  unit: string;
  points: readonly Point[];
}) {
  const holder = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const element = holder.current;
    if (element === null) return;
    const sorted = [...points].sort((a, b) => a.time - b.time);
    const data: uPlot.AlignedData = [sorted.map((p) => p.time / 1000), sorted.map((p) => p.value)];
    const width = Math.max(280, Math.min(720, element.clientWidth || 640));
    const started = performance.now();
    const plot = new uPlot(
      {
        width,
        height: 220,
        series: [
          {},
          {
            label: `${title} (${unit})`,
            stroke: '#1d4ed8',
            width: 2,
            points: { show: sorted.length < 80 },
          },
        ],
        axes: [{}, { label: unit }],
        legend: { show: false },
      },
      data,
      element,
    );
    element.dataset['rendered'] = String(sorted.length);
    element.dataset['renderMs'] = (performance.now() - started).toFixed(1);
    return () => plot.destroy();
  }, [title, unit, points]);
  const latest = points.reduce<Point | undefined>(
    (last, p) => (last === undefined || p.time > last.time ? p : last),
    undefined,
  );
  const values = points.map((p) => p.value);
  const summary =
    latest === undefined
      ? 'no values'
      : `${points.length} values from ${Math.min(...values)} to ${Math.max(...values)} ${unit}; latest ${latest.value} ${unit} on ${new Date(latest.time).toLocaleDateString()}`;
  return (
    <figure className="trend">
      <figcaption>
        {title}: {summary}
      </figcaption>
      <div
        ref={holder}
        role="img"
        aria-label={`Trend of ${title}: ${summary}`}
        className="trend-plot"
      />
      <details>
        <summary>Values as a table</summary>
        <table>
          <thead>
            <tr>
              <th scope="col">Date</th>
              <th scope="col">
                {title} ({unit})
              </th>
            </tr>
          </thead>
          <tbody>
            {[...points]
              .sort((a, b) => b.time - a.time)
              .slice(0, 200)
              .map((p, i) => (
                <tr key={i}>
                  <td>{new Date(p.time).toLocaleDateString()}</td>
                  <td>{p.value}</td>
                </tr>
              ))}
          </tbody>
        </table>
      </details>
    </figure>
  );
}
