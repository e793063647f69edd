"""A short sample text per benchmark language: for the demo, the docs and the coverage tests.

Written in each language's own script, as its speakers write it (Hanzi, Kanji with kana, Thai
without word spaces): the text front-ends (phonetics/frontend) read them.
"""

from __future__ import annotations

SAMPLES: dict[str, str] = {
    "en": "Every face can speak any language. The quick brown fox jumps over the lazy dog.",
    "zh": "每一张脸都能说任何语言。我们今天去北京。",
    "es": "Cada cara puede hablar cualquier idioma. El veloz murciélago hindú comía feliz cardillo y kiwi.",
    "fr": "Chaque visage peut parler toutes les langues. Portez ce vieux whisky au juge blond qui fume.",
    "de": "Jedes Gesicht kann jede Sprache sprechen. Zwölf Boxkämpfer jagen Viktor quer über den großen Sylter Deich.",
    "ja": "どの顔もどんな言葉でも話せます。いろはにほへと ちりぬるを わかよたれそ つねならむ。",
    "ar": "كل وجه يستطيع أن يتكلم أي لغة. صِف خَلقَ خَودِ كَمِثلِ الشَمسِ إِذ بَزَغَت.",
    "nl": "Elk gezicht kan elke taal spreken. Pa's wijze lynx bezag vroom het fikse aquaduct.",
    "ru": "Каждое лицо может говорить на любом языке. Съешь же ещё этих мягких французских булок.",
    "it": "Ogni volto può parlare qualsiasi lingua. Quel vituperabile xenofobo zelante assaggia il whisky.",
    "th": "ทุก ใบหน้า พูด ได้ ทุก ภาษา เป็ด ขาว บิน ข้าม ภูเขา",
    "vi": "Mỗi khuôn mặt có thể nói mọi ngôn ngữ. Tôi yêu tiếng nước tôi từ khi mới ra đời.",
    "ko": "모든 얼굴은 모든 언어를 말할 수 있습니다. 다람쥐 헌 쳇바퀴에 타고파.",
    "my": "မျက်နှာ တိုင်း ဘာသာစကား တိုင်း ပြော နိုင် တယ်။ မင်္ဂလာပါ။",
    "hi": "हर चेहरा हर भाषा बोल सकता है। ऋषियों को सताने वाले दुष्ट राक्षसों के राजा रावण का सर्वनाश करने वाले विष्णुवतार भगवान श्रीराम।",
}
