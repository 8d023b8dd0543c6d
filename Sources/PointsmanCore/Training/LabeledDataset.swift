import Foundation

/// One labeled prompt.
public struct LabeledPrompt: Sendable, Equatable, Codable {
    public var text: String
    public var label: String
    /// The unit held out together (dataset, template, …), if the data has one.
    public var group: String?
    /// Where the row came from, for error messages: `file:line`.
    public var origin: String
    /// Other labels a careful annotator would also accept (the data's `ok` list), if the data has them.
    public var acceptable: [String]?
    /// The source's own split (`train`, `val`, …), if the data names one (field `split`).
    public var split: String?

    public init(text: String, label: String, group: String? = nil, origin: String = "", acceptable: [String]? = nil) {
        self.text = text
        self.label = label
        self.group = group
        self.origin = origin
        self.acceptable = acceptable
    }
}

/// A labeled-data file that cannot be used; names the file and the row.
public struct DatasetError: Error, Sendable, Equatable, CustomStringConvertible {
    public var file: String
    public var row: Int?
    public var problem: String

    public init(file: String, row: Int?, problem: String) {
        self.file = file
        self.row = row
        self.problem = problem
    }

    public var description: String {
        "\(file)" + (row.map { ":\($0)" } ?? "") + ": \(problem)"
    }
}

/// Reads labeled prompts from JSON Lines (one object per line) or CSV (a header row naming the columns).
public struct LabeledDatasetReader: Sendable {
    /// Field holding the prompt.
    public var textField: String
    /// Field holding the label.
    public var labelField: String
    /// Field holding the group (optional in the data).
    public var groupField: String

    public init(textField: String = "text", labelField: String = "label", groupField: String = "group") {
        self.textField = textField
        self.labelField = labelField
        self.groupField = groupField
    }

    /// Reads one file: `.csv` as CSV, anything else as JSON Lines. Blank lines are skipped; a row without text or
    /// label is an error naming the row.
    public func read(_ path: String) throws(DatasetError) -> [LabeledPrompt] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw DatasetError(file: path, row: nil, problem: "cannot read the file (missing or unreadable)")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw DatasetError(file: path, row: nil, problem: "the file is not UTF-8")
        }
        let rows = path.lowercased().hasSuffix(".csv") ? try csvRows(text, path: path) : try jsonRows(text, path: path)
        guard !rows.isEmpty else { throw DatasetError(file: path, row: nil, problem: "the file has no rows") }
        return rows
    }

    func jsonRows(_ text: String, path: String) throws(DatasetError) -> [LabeledPrompt] {
        var out: [LabeledPrompt] = []
        for (index, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty { continue }
            guard let object = try? JSONSerialization.jsonObject(with: Data(trimmed.utf8)) as? [String: Any] else {
                throw DatasetError(file: path, row: index + 1, problem: "not a JSON object")
            }
            out.append(try prompt(object, path: path, row: index + 1))
        }
        return out
    }

    func csvRows(_ text: String, path: String) throws(DatasetError) -> [LabeledPrompt] {
        let records = CSVParser.parse(text)
        guard let header = records.first else { return [] }
        var out: [LabeledPrompt] = []
        for (index, record) in records.dropFirst().enumerated() {
            if record.count == 1 && record[0].isEmpty { continue }
            guard record.count == header.count else {
                throw DatasetError(file: path, row: index + 2, problem: "\(record.count) columns, the header has \(header.count)")
            }
            out.append(try prompt(Dictionary(zip(header, record), uniquingKeysWith: { a, _ in a }), path: path, row: index + 2))
        }
        return out
    }

    func prompt(_ object: [String: Any], path: String, row: Int) throws(DatasetError) -> LabeledPrompt {
        guard let text = object[textField] as? String else {
            throw DatasetError(file: path, row: row, problem: "no string field \"\(textField)\"")
        }
        guard !text.trimmingWhitespace().isEmpty else {
            throw DatasetError(file: path, row: row, problem: "field \"\(textField)\" is empty")
        }
        let label: String
        if let string = object[labelField] as? String {
            label = string
        } else if let number = object[labelField] as? NSNumber {
            label = number.stringValue
        } else {
            throw DatasetError(file: path, row: row, problem: "no label field \"\(labelField)\"")
        }
        guard !label.isEmpty else { throw DatasetError(file: path, row: row, problem: "the label is empty") }
        let group = (object[groupField] as? String).flatMap { $0.isEmpty ? nil : $0 }
        var prompt = LabeledPrompt(text: text, label: label, group: group, origin: "\((path as NSString).lastPathComponent):\(row)",
                                   acceptable: object["ok"] as? [String])
        prompt.split = (object["split"] as? String).flatMap { $0.isEmpty ? nil : $0 }
        return prompt
    }
}

/// RFC 4180 CSV: quoted fields, doubled quotes, commas and newlines inside quotes.
enum CSVParser {
    static func parse(_ text: String) -> [[String]] {
        var records: [[String]] = []
        var record: [String] = []
        var field = ""
        var quoted = false
        var iterator = text.unicodeScalars.makeIterator()
        var pending: Unicode.Scalar? = nil
        func nextScalar() -> Unicode.Scalar? {
            if let p = pending { pending = nil; return p }
            return iterator.next()
        }
        while let c = nextScalar() {
            if quoted {
                if c == "\"" {
                    if let n = nextScalar() {
                        if n == "\"" { field.unicodeScalars.append("\"") } else { quoted = false; pending = n }
                    } else {
                        quoted = false
                    }
                } else {
                    field.unicodeScalars.append(c)
                }
                continue
            }
            switch c {
            case "\"": quoted = true
            case ",":
                record.append(field)
                field = ""
            case "\r": continue
            case "\n":
                record.append(field)
                records.append(record)
                record = []
                field = ""
            default: field.unicodeScalars.append(c)
            }
        }
        if !field.isEmpty || !record.isEmpty {
            record.append(field)
            records.append(record)
        }
        return records
    }
}
