import Foundation

extension EvaluationReport {
    /// A readable terminal report: a summary per router, F1 per label, pairwise tests and the first disagreements.
    public func text(disagreementLimit: Int = 10) -> String {
        func f(_ v: Double, _ d: Int = 3) -> String { String(format: "%.\(d)f", v) }
        func pad(_ s: String, _ w: Int) -> String { s.count >= w ? s : s + String(repeating: " ", count: w - s.count) }
        var out: [String] = ["\(rows) rows from \(source), \(labels.count) labels", ""]
        out.append(pad("router", 11) + pad("accuracy", 10) + pad("macro-F1", 10) + pad("coverage", 10) + pad("fallback", 10)
                   + pad("score p50/p99 ms", 18) + pad("+embed p50/p99 ms", 19) + "cost vs \(routers.first?.cost.topModel ?? "top")")
        for r in routers {
            out.append(pad(r.name, 11) + pad(f(r.accuracy), 10) + pad(f(r.macroF1), 10) + pad(f(r.coverage), 10) + pad(f(r.fallbackRate), 10)
                       + pad("\(f(r.latency.scoringP50Ms, 2))/\(f(r.latency.scoringP99Ms, 2))", 18)
                       + pad("\(f(r.latency.withEmbeddingP50Ms, 2))/\(f(r.latency.withEmbeddingP99Ms, 2))", 19)
                       + "\(f(r.cost.routed, 4)) vs \(f(r.cost.allToTopModel, 4)) (saves \(Int((r.cost.savings * 100).rounded()))%)")
        }
        if routers.contains(where: { $0.acceptableAccuracy != nil }) {
            out.append("  acceptable accuracy (prediction in the row's ok list): "
                       + routers.map { "\($0.name) \($0.acceptableAccuracy.map { f($0) } ?? "-")" }.joined(separator: ", "))
        }
        for r in routers where !r.fallbackReasons.isEmpty {
            out.append("  \(r.name) fallbacks: " + r.fallbackReasons.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))
        }
        out.append("")
        out.append(pad("F1 by label", 16) + routers.map { pad($0.name, 11) }.joined() + "support")
        for label in labels {
            out.append(pad(label, 16) + routers.map { pad(f($0.perLabel[label]?.f1 ?? 0), 11) }.joined()
                       + "\(routers.first?.perLabel[label]?.support ?? 0)")
        }
        for c in comparisons {
            out.append("")
            out.append("\(c.a) vs \(c.b): agreement \(f(c.agreement)); McNemar: only \(c.a) right \(c.mcnemar.onlyA), only \(c.b) right \(c.mcnemar.onlyB), χ² \(f(c.mcnemar.statistic, 2)), exact p \(String(format: "%.3g", c.mcnemar.pValue))")
            for d in c.disagreements.prefix(disagreementLimit) {
                let text = d.text.replacingOccurrences(of: "\n", with: " ")
                out.append("  [\(d.truth)] \(c.a)=\(d.a) (\(f(d.aConfidence, 2))) \(c.b)=\(d.b) (\(f(d.bConfidence, 2))): \(text.prefix(70))")
            }
            if c.disagreements.count > disagreementLimit { out.append("  … \(c.disagreements.count - disagreementLimit) more (see --json or --report)") }
        }
        return out.joined(separator: "\n")
    }
}
