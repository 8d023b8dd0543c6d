extension RegexRuleSet {
    /// The shipped rule set over all ten capabilities: the A/B baseline. Frozen: it was written once, by reading the
    /// capability definitions and typical phrasings (imperative verbs, question words, domain nouns), before any
    /// evaluation; it is not tuned against evaluation data. Each rule's `localizedPattern` knows the same verbs and nouns in
    /// French, Spanish, German, Portuguese, Italian, Chinese and Japanese (added with the multilingual training data,
    /// from the same definitions, equally untuned), tried only on prompts that are not English. Order matters (first match wins): the most specific
    /// intents (translation, code, summarize, extraction, classification) come before the broad ones (math, reasoning,
    /// creative, qa); anything else is `general`.
    public static let shipped = RegexRuleSet(defaultCapability: "general", rules: [
        RegexRule(
            name: "translation",
            pattern: #"\btranslat(e|es|ed|ing|ion)\b|\b(in|into|to) (the )?(english|spanish|french|german|italian|portuguese|chinese|mandarin|japanese|korean|russian|arabic|hindi|dutch|czech|polish|turkish|ukrainian|hebrew|swedish|greek)\b"#,
            capability: "translation",
            localizedPattern: #"\btradu(is|ire|isez|isons|ction|ce|cir|zca|za|zir|z|ção|ci|rre|zione|cimi)\b|übersetz|\bcomment dit-on\b|\bc[oó]mo se dice\b|\bcomo se diz\b|\bwie sagt man\b|\bcome si dice\b|\ben (anglais|espagnol|allemand|italien|portugais|chinois|japonais|français)\b|\b(al|en) (ingl[eé]s|franc[eé]s|alem[aá]n|italiano|portugu[eé]s|chino|japon[eé]s)\b|\b(auf|ins) (englisch|deutsch|französisch|spanisch|italienisch|englische|deutsche)\b|\b(em|para o) (ingl[eê]s|franc[eê]s|alem[aã]o|espanhol|italiano|portugu[eê]s)\b|\bin (inglese|francese|tedesco|spagnolo|portoghese|italiano)\b|翻译|翻譯|翻訳|訳して|(英语|英文|中文|日语|日文|法语|德语)(怎么说|怎麼說)|用(英语|英文|中文|日语|法语|德语)|(英語|日本語|中国語|フランス語|ドイツ語)(に|で)"#),
        RegexRule(
            name: "code",
            pattern: #"\bcode\b|\bcoding\b|\bfunctions?\b|\brefactor|\bbugs?\b|\bdebug|\b(python|javascript|typescript|java|c\+\+|c#|rust|golang|swift|kotlin|ruby|php|sql|html|css|bash|regex)\b|\bprogram(ming|s)?\b|\bscript\b|\balgorithm|\bimplement|\bcompil(e|er|ing)\b|\bstack ?trace\b|\bexception\b|```|\bapi\b|\bclass\b|\bmethod\b|\bdef\s+\w+\(|\bunit tests?\b"#,
            capability: "code",
            localizedPattern: #"(?<!\ben\s)\bfonction\b|(?<!\ben\s)\bfunción\b|(?<!\bem\s)\bfunção\b|(?<!\bin\s)\bfunzione\b|\bfunktion\b|\bcódigo\b|\bcodice\b|代码|代碼|函数|函數|编程|程式|コード|関数|プログラム"#),
        RegexRule(
            name: "summarize",
            pattern: #"summar(y|ies|ize|ise|izing|ising)|\btl;?dr\b|\bsum (it )?up\b|\bkey (points|takeaways)\b|\bcondense\b|\brecap\b|\bin (one|two|three|a few|\d+) (sentences?|words|bullet points?)\b|\bheadline\b|\btitle for\b"#,
            capability: "summarize",
            localizedPattern: #"\brésum(e|ez|er)\b|\brésumé\b|\bresumen\b|\bresumir\b|\bresuma\b|\bresumo\b|zusammenfass|riassum|sintetizz|总结|總結|摘要|概括|要約|まとめて"#),
        RegexRule(
            name: "extraction",
            pattern: #"\bextract|\bpull out\b|\bnamed entit|\b(list|find|identify|get) (all|every) (the )?(names|dates|numbers|emails|e-mail addresses|urls|people|places|companies|entities|organizations|locations)\b|\bparse\b|\bin (json|csv) format\b|\bas (json|a json object|a table)\b"#,
            capability: "extraction",
            localizedPattern: #"\bextrai[st]\b|\bextraire\b|\bextrae\b|\bextraer\b|\bextraia\b|\bextrair\b|\bestrai\b|\bestrarre\b|extrahier|提取|抽出"#),
        RegexRule(
            name: "classification",
            pattern: #"classif|\blabel\b|\bcategor|\bsentiment\b|\bpositive or negative\b|\bspam\b|\bwhich (topic|category|class|genre)\b|\btopic of\b|\btoxic|\bwould the (user|reviewer|customer) recommend\b|\bis (this|the following) (review|message|email|tweet|text|sentence|comment) (positive|negative|spam|toxic|sarcastic)\b"#,
            capability: "classification",
            localizedPattern: #"\bclasse(r|z)\b|\bclasifica|\bcatégor|\bklassifizier|\bkategorisier|分类|分類|归类"#),
        RegexRule(
            name: "math",
            pattern: #"\bcalculat|\bcompute\b|\bsolve\b|\bequations?\b|\bintegral|\bderivative|\bprobability\b|\bmath|\bhow (many|much)\b|\bpercent|\baverage\b|\bsum of\b|\bprime\b|\btheorem\b|\bprove\b|\d+\s*[-+*/×÷^]\s*\d+|\$\d|\bdollars?\b"#,
            capability: "math",
            localizedPattern: #"\bcalcul(e|er|ez|a|ar|are)\b|\bberechne|\bresuelve\b|\brésous\b|\brisolvi\b|\bresolva\b|\bcombien\b|\bcuánt[oa]s?\b|\bwie viel|计算|計算|多少"#),
        RegexRule(
            name: "reasoning",
            pattern: #"\bwhy\b|\breason|\blogic|\bpuzzle|\briddle|\bstep[- ]by[- ]step\b|\bdeduce|\binfer\b|\bpros and cons\b|\bcompare\b|\btrade-?offs?\b|\bimplications?\b|\bwhich of the following\b|\boptions:|\btrue or false\b|\bplausible\b|\bif\b.+\bthen\b"#,
            capability: "reasoning",
            localizedPattern: #"\bpourquoi\b|\bpor qu[eé]\b|\bwarum\b|\bperch[eé]\b|\bavantages et inconvénients\b|\bventajas y desventajas\b|\bvor- und nachteile\b|\bprós e contras\b|\bpro e contro\b|\bvergleich|为什么|為什麼|なぜ|どうして|比较|比較"#),
        RegexRule(
            name: "creative",
            pattern: #"\b(write|compose|draft|create|craft|invent)\b.{0,40}\b(story|poem|haiku|song|lyrics|essay|blog|letter|email|speech|script|joke|limerick|dialogue|tweet|slogan|tagline|post)s?\b|\bstory\b|\bpoem\b|\bfiction|\bimagine\b|\bpretend\b|\brole-?play|\bcreative"#,
            capability: "creative",
            localizedPattern: #"\b(écris|écrire|rédige|escribe|escreva|schreib\w*|scrivi|componi)\b.{0,40}\b(histoire|poème|poésie|chanson|lettre|discours|blague|cuento|historia|poema|canción|carta|chiste|discurso|geschichte|gedicht|lied|brief|witz|rede|storia|poesia|canzone|lettera|história|piada)s?\b|\bpoème\b|\bpoema\b|\bgedicht\b|写一首|写一篇|故事|物語|小説|俳句"#),
        RegexRule(
            name: "qa",
            pattern: #"^\s*(what|who|whom|whose|when|where|which|how|is|are|was|were|does|do|did|can|could|should|would|will)\b|\?\s*$|\bexplain\b|\bdefine\b|\bmeaning of\b|\btell me about\b|\bdescribe\b"#,
            capability: "qa",
            localizedPattern: #"^\s*(qu'est-ce|qui|quand|où|quel|quelle|est-ce que|qué|quién|cuándo|dónde|cómo|cuál|wer|wann|wo|wie|welche|o que|quem|quando|onde|qual|cosa|chi|dove|quale)\b|\bexpliqu|\bexplica|\berkl[äa]r|\bspiega|是什么|什么是|是什麼|とは|について教えて"#),
    ])
}
