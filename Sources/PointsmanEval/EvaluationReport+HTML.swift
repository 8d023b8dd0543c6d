import Foundation

extension EvaluationReport {
    /// One self-contained page (inline CSS and SVG; no scripts, no network): confusion-matrix heat maps, F1 per
    /// label side by side, calibration curves and the disagreement tables.
    public func html(title: String = "Pointsman routing evaluation") -> String {
        let palette = ["#2563eb", "#16a34a", "#d97706", "#9333ea", "#dc2626"]
        var body = "<h1>\(escape(title))</h1><p>\(rows) rows from <code>\(escape(source))</code>, \(labels.count) labels; costs assume \(assumedCompletionTokens) completion tokens.</p>"
        body += "<h2>Summary</h2><table><tr><th>router</th><th>accuracy</th><th>macro-F1</th><th>coverage</th><th>fallback rate</th><th>scoring p50 / p99 ms</th><th>with embedding p50 / p99 ms</th><th>routed cost</th><th>all to \(escape(routers.first?.cost.topModel ?? "top"))</th><th>savings</th></tr>"
        for r in routers {
            body += "<tr><td>\(escape(r.name))</td><td>\(f(r.accuracy))</td><td>\(f(r.macroF1))</td><td>\(f(r.coverage))</td><td>\(f(r.fallbackRate))</td><td>\(f(r.latency.scoringP50Ms, 2)) / \(f(r.latency.scoringP99Ms, 2))</td><td>\(f(r.latency.withEmbeddingP50Ms, 2)) / \(f(r.latency.withEmbeddingP99Ms, 2))</td><td>\(f(r.cost.routed, 4))</td><td>\(f(r.cost.allToTopModel, 4))</td><td>\(Int((r.cost.savings * 100).rounded()))%</td></tr>"
        }
        body += "</table>"
        body += "<h2>F1 per label</h2>" + f1Bars(palette)
        body += "<h2>Calibration (confidence vs accuracy)</h2>" + calibrationChart(palette)
        body += "<h2>Confusion matrices</h2><div class=grid>"
        for r in routers { body += "<div><h3>\(escape(r.name))</h3>\(heatMap(r.confusion))</div>" }
        body += "</div>"
        for c in comparisons {
            body += "<h2>\(escape(c.a)) vs \(escape(c.b))</h2><p>agreement \(f(c.agreement)); McNemar: only \(escape(c.a)) right \(c.mcnemar.onlyA), only \(escape(c.b)) right \(c.mcnemar.onlyB), χ² \(f(c.mcnemar.statistic, 2)), exact p = \(String(format: "%.3g", c.mcnemar.pValue))</p>"
            body += "<table><tr><th>#</th><th>true</th><th>\(escape(c.a))</th><th>\(escape(c.b))</th><th>prompt</th></tr>"
            for d in c.disagreements.prefix(200) {
                let aMark = d.a == d.truth ? " class=ok" : "", bMark = d.b == d.truth ? " class=ok" : ""
                body += "<tr><td>\(d.row + 1)</td><td>\(escape(d.truth))</td><td\(aMark)>\(escape(d.a)) (\(f(d.aConfidence, 2)))</td><td\(bMark)>\(escape(d.b)) (\(f(d.bConfidence, 2)))</td><td>\(escape(String(d.text.prefix(160))))</td></tr>"
            }
            body += "</table>"
            if c.disagreements.count > 200 { body += "<p>… \(c.disagreements.count - 200) more in the JSON output.</p>" }
        }
        let style = "body{font-family:system-ui,sans-serif;margin:24px;color:#111}table{border-collapse:collapse;margin:8px 0}td,th{border:1px solid #ccc;padding:3px 6px;font-size:13px;text-align:left}th{background:#f3f4f6}.grid{display:flex;flex-wrap:wrap;gap:24px}.ok{background:#dcfce7}code{background:#f3f4f6;padding:1px 4px}svg text{font-size:11px;font-family:system-ui,sans-serif}"
        return "<!doctype html><html><head><meta charset=utf-8><title>\(escape(title))</title><style>\(style)</style></head><body>\(body)</body></html>\n"
    }

    func heatMap(_ confusion: [String: [String: Int]]) -> String {
        var columns = labels
        for row in confusion.values { for key in row.keys where !columns.contains(key) { columns.append(key) } }
        let cell = 26, left = 110, top = 110
        let width = left + cell * columns.count + 10, height = top + cell * labels.count + 10
        let peak = max(1, confusion.values.flatMap(\.values).max() ?? 1)
        var svg = "<svg xmlns='http://www.w3.org/2000/svg' width='\(width)' height='\(height)'>"
        for (j, c) in columns.enumerated() {
            svg += "<text x='\(left + j * cell + cell / 2)' y='\(top - 6)' transform='rotate(-60 \(left + j * cell + cell / 2) \(top - 6))'>\(escape(c))</text>"
        }
        for (i, t) in labels.enumerated() {
            svg += "<text x='\(left - 6)' y='\(top + i * cell + cell / 2 + 4)' text-anchor='end'>\(escape(t))</text>"
            let rowTotal = max(1, confusion[t]?.values.reduce(0, +) ?? 1)
            for (j, c) in columns.enumerated() {
                let n = confusion[t]?[c] ?? 0
                let share = Double(n) / Double(rowTotal)
                let color = t == c ? "37,99,235" : "220,38,38"
                svg += "<rect x='\(left + j * cell)' y='\(top + i * cell)' width='\(cell)' height='\(cell)' fill='rgba(\(color),\(f(share, 3)))' stroke='#e5e7eb'><title>true \(escape(t)), predicted \(escape(c)): \(n)</title></rect>"
                if n > 0 { svg += "<text x='\(left + j * cell + cell / 2)' y='\(top + i * cell + cell / 2 + 4)' text-anchor='middle' fill='\(share > 0.5 ? "#fff" : "#111")'>\(n)</text>" }
            }
        }
        _ = peak
        return svg + "</svg><div>rows: true label; columns: predicted; shade: share of the row</div>"
    }

    func f1Bars(_ palette: [String]) -> String {
        let group = 18 * routers.count + 10, left = 120, chartWidth = 360
        let height = 20 + group * labels.count
        var svg = "<svg xmlns='http://www.w3.org/2000/svg' width='\(left + chartWidth + 60)' height='\(height + 20)'>"
        for (i, label) in labels.enumerated() {
            let y = 10 + i * group
            svg += "<text x='\(left - 6)' y='\(y + group / 2)' text-anchor='end'>\(escape(label))</text>"
            for (r, router) in routers.enumerated() {
                let value = router.perLabel[label]?.f1 ?? 0
                svg += "<rect x='\(left)' y='\(y + r * 18)' width='\(Int(value * Double(chartWidth)))' height='15' fill='\(palette[r % palette.count])'><title>\(escape(router.name)) \(escape(label)) F1 \(f(value))</title></rect>"
                svg += "<text x='\(left + Int(value * Double(chartWidth)) + 4)' y='\(y + r * 18 + 12)'>\(f(value, 2))</text>"
            }
        }
        svg += "</svg>" + legend(palette)
        return svg
    }

    func calibrationChart(_ palette: [String]) -> String {
        let size = 260, pad = 40
        var svg = "<svg xmlns='http://www.w3.org/2000/svg' width='\(size + 2 * pad)' height='\(size + 2 * pad)'>"
        svg += "<rect x='\(pad)' y='\(pad)' width='\(size)' height='\(size)' fill='none' stroke='#999'/>"
        svg += "<line x1='\(pad)' y1='\(pad + size)' x2='\(pad + size)' y2='\(pad)' stroke='#bbb' stroke-dasharray='4'/>"
        svg += "<text x='\(pad + size / 2)' y='\(pad + size + 28)' text-anchor='middle'>confidence</text>"
        svg += "<text x='12' y='\(pad + size / 2)' transform='rotate(-90 12 \(pad + size / 2))' text-anchor='middle'>accuracy</text>"
        for (r, router) in routers.enumerated() {
            let points = router.calibration.map { bin in
                "\(pad + Int(bin.meanConfidence * Double(size))),\(pad + size - Int(bin.accuracy * Double(size)))"
            }
            guard !points.isEmpty else { continue }
            svg += "<polyline fill='none' stroke='\(palette[r % palette.count])' stroke-width='2' points='\(points.joined(separator: " "))'/>"
            for (bin, point) in zip(router.calibration, points) {
                let xy = point.split(separator: ",")
                svg += "<circle cx='\(xy[0])' cy='\(xy[1])' r='3' fill='\(palette[r % palette.count])'><title>\(escape(router.name)): \(bin.count) rows, confidence \(f(bin.meanConfidence, 2)), accuracy \(f(bin.accuracy, 2))</title></circle>"
            }
        }
        return svg + "</svg>" + legend(palette)
    }

    func legend(_ palette: [String]) -> String {
        "<div>" + routers.enumerated().map { "<span style='color:\(palette[$0.offset % palette.count])'>■</span> \(escape($0.element.name))" }.joined(separator: " &nbsp; ") + "</div>"
    }

    func f(_ v: Double, _ digits: Int = 3) -> String { String(format: "%.\(digits)f", v) }

    func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
            .replacingOccurrences(of: "'", with: "&#39;")
    }
}
