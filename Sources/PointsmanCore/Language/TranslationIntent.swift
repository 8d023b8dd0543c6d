import Foundation

/// Whether a prompt asks for a translation at all: explicit cues in the supported languages ("translate",
/// "traduis", "übersetze", "翻译", "訳して"…), a request to say something in a named language ("how do you say…",
/// "comment dit-on…", "in French", "en anglais", "用英语"…). A prompt written in another language is not a translation
/// request by itself; the router's translation guard uses this to keep such prompts away from `translation` unless
/// they ask for one. The test is permissive: it only has to tell "could be a translation request" from "cannot be".
public enum TranslationIntent {
    static let languageNames = [
        // English
        "english", "spanish", "french", "german", "italian", "portuguese", "chinese", "mandarin", "cantonese",
        "japanese", "korean", "russian", "arabic", "hindi", "dutch", "polish", "turkish", "greek", "swedish", "latin",
        // French
        "anglais", "espagnol", "français", "francais", "allemand", "italien", "portugais", "chinois", "japonais",
        "coréen", "russe", "arabe", "néerlandais",
        // Spanish
        "inglés", "ingles", "francés", "frances", "alemán", "aleman", "italiano", "portugués", "portugues", "chino",
        "japonés", "japones", "coreano", "ruso", "árabe", "español", "espanol",
        // German
        "englisch", "deutsch", "französisch", "franzosisch", "spanisch", "italienisch", "portugiesisch",
        "chinesisch", "japanisch", "koreanisch", "russisch", "englische", "deutsche", "französische", "spanische",
        // Portuguese
        "inglês", "francês", "alemão", "alemao", "espanhol", "português", "chinês", "japonês", "russo",
        // Italian
        "inglese", "francese", "tedesco", "spagnolo", "portoghese", "cinese", "giapponese",
    ]

    static let cuePattern: NSRegularExpression = {
        let names = languageNames.map(NSRegularExpression.escapedPattern(for:)).joined(separator: "|")
        let cues = [
            // translate in any of the Latin-script languages
            #"translat"#, #"tradu[cizçsz]"#, #"[üu]bersetz"#, #"traduz"#,
            // how one says something
            #"how (do|would|can|should|does) (you|i|we|one|a native speaker|people) say"#, #"native speaker"#,
            #"what('s| is) the (word|phrase|expression|term) for"#, #"what does .{1,60} mean"#,
            #"comment (dit-on|on dit|dire|se dit)"#, #"que (veut|signifie) dire"#, #"veut dire quoi"#, #"ça se dit"#,
            #"c[oó]mo se (dice|diz|escribe)"#, #"qu[eé] significa"#, #"o que (significa|quer dizer)"#,
            #"wie sagt man"#, #"was (bedeutet|hei(ß|ss)t)"#, #"come si dice"#, #"cosa significa"#, #"che vuol dire"#,
            // a named language as the target or the source
            #"\b(in|into|to|from|en|em|auf|ins|na|nel|al|del|do|dal|vom|aus) (the )?(\#(names))\b"#,
            #"\b(\#(names)) (for|word|version|equivalent)\b"#,
            // Chinese and Japanese
            #"翻译|翻譯|译成|譯成|译为|譯為|怎么说|怎麼說|什么意思|什麼意思|用(英|中|日|法|德|韩|韓|俄|西班牙|葡萄牙|意大利)(语|語|文)"#,
            #"(英|中|日|法|德|韩|韓|俄|西班牙|葡萄牙|意大利)(语|語|文)(怎么|怎麼|里|裡|中|的)"#,
            #"翻訳|訳して|訳す|訳せ|訳は|訳を|(英|日本|中国|韓国|フランス|ドイツ|スペイン|イタリア|ポルトガル)語(で|に|では|だと)|何て言|なんて言|何と言"#,
            // Korean, Russian, Arabic (the detector knows these languages too)
            #"번역|영어로|한국어로|일본어로|중국어로|뭐라고 (해|하)"#, #"перев(ед|од)|по-(английски|русски|французски|немецки)|как (сказать|будет)"#,
            #"ترجم|بالإنجليزية|بالعربية|كيف (أقول|نقول)"#,
        ]
        // The cues are fixed strings written here; a failure to compile them is a programming error caught by tests.
        return try! NSRegularExpression(pattern: cues.joined(separator: "|"), options: [.caseInsensitive])
    }()

    /// Whether `text` may be asking for a translation.
    public static func mayAskForTranslation(_ text: String) -> Bool {
        let lowered = text.lowercased()
        return cuePattern.firstMatch(in: lowered, range: NSRange(lowered.startIndex..., in: lowered)) != nil
    }
}
